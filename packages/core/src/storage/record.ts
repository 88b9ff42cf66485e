import { StorageCorruptError } from '../errors/errors.js'

/**
 * The one persisted record. Access token, refresh token and their metadata are written as a
 * single value so a crash can never pair an access token with another pair's refresh token.
 * With `persistTokens: 'none'` the secrets are omitted and the record only says a session exists.
 */
export interface SessionRecord {
  v: 1
  /** Identifies the pair; changes whenever a new pair is stored (rotation detection). */
  id: string
  tokenType: string
  accessToken?: string
  refreshToken?: string | null
  /** Seconds, from the token response; null when the server sent none. */
  expiresIn: number | null
  /** Wall-clock ms when the response arrived; only used to estimate remaining life after a restart. */
  receivedAt: number
  scope?: string
  idToken?: string
}

export function encodeRecord(record: SessionRecord): string {
  return JSON.stringify(record)
}

const isOptionalString = (v: unknown) => v === undefined || typeof v === 'string'

export function decodeRecord(raw: string): SessionRecord {
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new StorageCorruptError('stored session is not valid JSON')
  }
  if (typeof parsed !== 'object' || parsed === null) throw new StorageCorruptError('stored session is not an object')
  const r = parsed as Record<string, unknown>
  if (r.v !== 1) throw new StorageCorruptError(`unsupported stored session version: ${String(r.v)}`)
  const valid =
    typeof r.id === 'string' &&
    typeof r.tokenType === 'string' &&
    isOptionalString(r.accessToken) &&
    (isOptionalString(r.refreshToken) || r.refreshToken === null) &&
    (r.expiresIn === null || (typeof r.expiresIn === 'number' && Number.isFinite(r.expiresIn) && r.expiresIn >= 0)) &&
    typeof r.receivedAt === 'number' &&
    Number.isFinite(r.receivedAt) &&
    isOptionalString(r.scope) &&
    isOptionalString(r.idToken)
  if (!valid) throw new StorageCorruptError('stored session has missing or mistyped fields')
  return r as unknown as SessionRecord
}

/**
 * Milliseconds of access-token life left, judged from a record written earlier. The wall clock is
 * all that survives a restart; a negative elapsed time (clock moved back, or was ahead when
 * written) is implausible, so the token is treated as expired and the first need refreshes.
 */
export function remainingLifeMs(record: SessionRecord, wallNow: number): number | null {
  if (record.expiresIn === null) return null
  const elapsed = wallNow - record.receivedAt
  if (elapsed < 0) return 0
  return Math.max(0, record.expiresIn * 1000 - elapsed)
}
