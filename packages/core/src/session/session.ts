import type { Clock } from '../env/ambient.js'
import { remainingLifeMs, type SessionRecord } from '../storage/record.js'
import { decodeClaims } from './claims.js'
import type { ParsedTokenResponse } from './token-response.js'

export type PersistTokens = 'all' | 'none'

/** The pair in memory. Expiry lives on the monotonic timeline only. */
export interface Session {
  id: string
  /** null after a restart in cookie mode: the first need refreshes. */
  accessToken: string | null
  refreshToken: string | null
  tokenType: string
  /** Monotonic ms; null when the server sent no expires_in (then a 401 decides). */
  expiresAt: number | null
  expiresIn: number | null
  receivedAt: number
  scope: string | undefined
  /** The OpenID Connect ID token of the latest response that had one (a refresh may omit it: OIDC Core §12.2). */
  idToken?: string
  /** Expiry was estimated from the wall clock after a restart; offline, the token is used anyway. */
  expiryEstimated: boolean
  claims: Record<string, unknown> | null
}

/**
 * Builds the session from a token response that arrived at `arrivedAt` (monotonic). Expiry is
 * `arrivedAt + expires_in`: the server's notion of lifetime, never `exp` against our wall clock.
 * RFC 6749 §6: a response without refresh_token keeps the current one.
 */
export function sessionFromResponse(
  parsed: ParsedTokenResponse,
  previousRefreshToken: string | null,
  arrivedAt: number,
  clock: Clock,
  id: string,
  previousIdToken?: string,
): Session {
  const idToken = parsed.idToken ?? previousIdToken
  return {
    id,
    accessToken: parsed.accessToken,
    refreshToken: parsed.refreshToken ?? previousRefreshToken,
    tokenType: parsed.tokenType,
    expiresAt: parsed.expiresIn === null ? null : arrivedAt + parsed.expiresIn * 1000,
    expiresIn: parsed.expiresIn,
    receivedAt: clock.now(),
    scope: parsed.scope,
    ...(idToken !== undefined ? { idToken } : {}),
    expiryEstimated: false,
    claims: claimsOf(parsed.accessToken, idToken),
  }
}

export function sessionFromRecord(record: SessionRecord, clock: Clock): Session {
  const remaining = remainingLifeMs(record, clock.now())
  const accessToken = record.accessToken ?? null
  return {
    id: record.id,
    accessToken,
    refreshToken: record.refreshToken ?? null,
    tokenType: record.tokenType,
    expiresAt: remaining === null ? null : clock.monotonic() + remaining,
    expiresIn: record.expiresIn,
    receivedAt: record.receivedAt,
    scope: record.scope,
    ...(record.idToken !== undefined ? { idToken: record.idToken } : {}),
    expiryEstimated: true,
    claims: accessToken ? claimsOf(accessToken, record.idToken) : record.idToken ? decodeClaims(record.idToken) : null,
  }
}

/** The access token's claims when it is a JWT; when it is opaque, the ID token's (for display, never verified). */
export function claimsOf(accessToken: string, idToken: string | undefined): Record<string, unknown> | null {
  return decodeClaims(accessToken) ?? (idToken !== undefined ? decodeClaims(idToken) : null)
}

export function toRecord(session: Session, persist: PersistTokens): SessionRecord {
  const record: SessionRecord = {
    v: 1,
    id: session.id,
    tokenType: session.tokenType,
    expiresIn: session.expiresIn,
    receivedAt: session.receivedAt,
  }
  if (session.scope !== undefined) record.scope = session.scope
  if (session.idToken !== undefined && persist === 'all') record.idToken = session.idToken
  // 'none' (web cookie mode): no secret at rest (OWASP HTML5 Security Cheat Sheet: keep session
  // tokens out of localStorage); the record only says a session exists.
  if (persist === 'all') {
    if (session.accessToken !== null) record.accessToken = session.accessToken
    record.refreshToken = session.refreshToken
  }
  return record
}

export function isUsable(session: Session, clock: Clock): boolean {
  return session.accessToken !== null && (session.expiresAt === null || clock.monotonic() < session.expiresAt)
}

/**
 * How long before expiry a token counts as due: the margin, bounded by half the token's life, so
 * a server that issues tokens shorter than the margin does not make every need refresh.
 */
export function refreshAheadMs(session: Session, margin: number): number {
  return session.expiresIn === null ? 0 : Math.min(margin, (session.expiresIn * 1000) / 2)
}
