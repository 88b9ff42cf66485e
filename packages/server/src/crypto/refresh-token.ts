import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Refresh tokens: `<sessionId>.<counter>.<mac>`.
 *
 *   sessionId  base64url of 16 random bytes (the session row's primary key)
 *   counter    the session's rotation counter when the token was issued (decimal)
 *   mac        base64url(HMAC-SHA256(serverKey, "latchkey-refresh-v1" | sessionId | counter | sessionSecret))
 *
 * The session row keeps the counter and a 256-bit random per-session secret; the token itself is
 * never stored (RFC 6819 §5.1.4.1.3: no cleartext credentials in storage). A database reader who
 * lacks the server key (LATCHKEY_SECRET, or the generated one) cannot compute a MAC, so cannot mint
 * a token; a token holder cannot move the counter forward without the key either. Entropy: the
 * MAC is keyed by secrets of 256 bits each, far above the 128 bits RFC 6749 §10.10 asks for.
 *
 * Rotation (RFC 6749 §10.4, RFC 9700 §4.14.2): only the token whose counter equals the row's
 * counter is current; every use moves the counter, so the previous token is spent.
 */
const VERSION = 'latchkey-refresh-v1'
const TOKEN_RE = /^([A-Za-z0-9_-]{22})\.(0|[1-9]\d{0,9})\.([A-Za-z0-9_-]{43})$/

export interface RefreshTokenParts {
  sessionId: string
  counter: number
  mac: Buffer
}

export const newSessionId = (): string => randomBytes(16).toString('base64url')
export const newSessionSecret = (): string => randomBytes(32).toString('base64url')

/** Derives the MAC key from a configured secret (any string ≥ 32 chars) or a stored random one. */
export function macKeyFromSecret(secret: string): Buffer {
  return createHash('sha256').update(`${VERSION}|key|`).update(secret).digest()
}

function mac(serverKey: Buffer, sessionId: string, counter: number, sessionSecret: string): Buffer {
  return createHmac('sha256', serverKey).update(`${VERSION}|${sessionId}|${counter}|${sessionSecret}`).digest()
}

export function formatRefreshToken(serverKey: Buffer, sessionId: string, counter: number, sessionSecret: string): string {
  return `${sessionId}.${counter}.${mac(serverKey, sessionId, counter, sessionSecret).toString('base64url')}`
}

/** Syntax only (no database, no key): `null` for anything that is not a well-formed token. */
export function parseRefreshToken(token: unknown): RefreshTokenParts | null {
  if (typeof token !== 'string' || token.length > 100) return null
  const m = TOKEN_RE.exec(token)
  if (!m) return null
  const counter = Number(m[2])
  if (!Number.isSafeInteger(counter) || counter > 2_147_483_647) return null
  const macBytes = Buffer.from(m[3]!, 'base64url')
  if (macBytes.length !== 32 || macBytes.toString('base64url') !== m[3]) return null
  return { sessionId: m[1]!, counter, mac: macBytes }
}

/**
 * True when the token's MAC is the one the server key gives for its session id, counter and the
 * session's secret. Constant-time comparison (crypto.timingSafeEqual), so the time taken reveals
 * nothing about how much of a guessed MAC was right (RFC 6819 §5.1.4.2.2 on guessing; OWASP
 * Cryptographic Storage / ASVS V6: compare secrets in constant time).
 */
export function verifyRefreshMac(serverKey: Buffer, parts: RefreshTokenParts, sessionSecret: string): boolean {
  const expected = mac(serverKey, parts.sessionId, parts.counter, sessionSecret)
  return expected.length === parts.mac.length && timingSafeEqual(expected, parts.mac)
}
