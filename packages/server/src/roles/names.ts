/**
 * Role names (issue 15): lowercase ASCII, a letter first, then letters, digits, `_` or `-`, at most
 * 32 characters. Kept this narrow so a name is safe anywhere it goes (a JWT claim, a log line, a
 * shell argument) and two spellings can never mean one role.
 */
export const ROLE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/

/** Roles one user may hold; more is a mistake (a claim in every access token must stay small). */
export const MAX_ROLES_PER_USER = 32

export class InvalidRoleError extends Error {
  override name = 'InvalidRoleError'
}

export const isRoleName = (role: unknown): role is string => typeof role === 'string' && ROLE_PATTERN.test(role)

/** The role name, or InvalidRoleError saying what a name may be. */
export function checkRoleName(role: unknown): string {
  if (isRoleName(role)) return role
  throw new InvalidRoleError(`a role is 1 to 32 characters: a lowercase letter, then lowercase letters, digits, "_" or "-" (got ${JSON.stringify(String(role).slice(0, 40))})`)
}
