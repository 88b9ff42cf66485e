import type { SessionState } from './state.js'

const NO_ROLES: readonly string[] = Object.freeze([])

/**
 * The `roles` claim of the access token (Latchkey server issue 15), decoded and NOT verified: the
 * client holds the token but not the means (nor the need) to check its signature. Use it to choose
 * what to show (hide an admin screen from users who cannot use it), never as the protection: the
 * server checks the user's current roles on every request it answers, and a resource server checks
 * the signed claim. It is as fresh as the access token: a role granted or revoked shows here after
 * the next refresh. Anything that is not a list of strings reads as no roles.
 */
export function rolesFromClaims(claims: Record<string, unknown> | null | undefined): readonly string[] {
  const roles = claims?.roles
  if (!Array.isArray(roles)) return NO_ROLES
  return roles.filter((r): r is string => typeof r === 'string')
}

/** Whether the session's access token claims `role` (unverified; see `rolesFromClaims`). Signed out or locked: false. */
export function hasRole(state: Pick<SessionState, 'claims'>, role: string): boolean {
  return rolesFromClaims(state.claims).includes(role)
}
