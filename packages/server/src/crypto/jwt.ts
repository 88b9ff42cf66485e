import { randomBytes, sign } from 'node:crypto'
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { ACCESS_TOKEN_ALG, type KeyStore } from './keys.js'

/** Seconds of clock skew tolerated on exp/nbf/iat unless a verifier says otherwise. */
export const DEFAULT_CLOCK_TOLERANCE = 5

/** RFC 9068 media type of JWT access tokens, set as the `typ` header and required on verify. */
export const ACCESS_TOKEN_TYP = 'at+jwt'

export interface AccessTokenClaims extends JWTPayload {
  iss: string
  /** One audience, always a string (RFC 9068 §3; several would make the token good at several services). */
  aud: string
  sub: string
  sid: string
  iat: number
  exp: number
  jti: string
  /** The user's roles when the token was issued (issue 15); absent in tokens from before roles. */
  roles?: string[]
  /** Issue 13: whether the owner proved the account's email address when the token was issued. */
  email_verified?: boolean
  /** RFC 9449 §6.1 confirmation: the token is bound to the DPoP key with this RFC 7638 thumbprint. */
  cnf?: { jkt?: string }
}

export interface IssueAccessTokenInput {
  issuer: string
  audience: string
  userId: string
  sessionId: string
  /** The `roles` claim (signed with the rest, so it cannot be changed without breaking the signature). */
  roles?: readonly string[]
  /** The `email_verified` claim (OpenID Connect Core §5.1's name): the address was proved when the token was issued. */
  emailVerified?: boolean
  ttlSeconds: number
  now: Date
  /** RFC 9449 §6.1: bind the token to this DPoP key thumbprint (`cnf.jkt`). */
  dpopJkt?: string | null | undefined
}

export async function signAccessToken(keys: KeyStore, input: IssueAccessTokenInput): Promise<string> {
  const { kid, keyObject } = await keys.signingKey()
  const iat = Math.floor(input.now.getTime() / 1000)
  const header = { alg: ACCESS_TOKEN_ALG, kid, typ: ACCESS_TOKEN_TYP }
  const claims = {
    sid: input.sessionId,
    ...(input.roles ? { roles: input.roles } : {}),
    ...(input.emailVerified !== undefined ? { email_verified: input.emailVerified } : {}),
    ...(input.dpopJkt ? { cnf: { jkt: input.dpopJkt } } : {}),
    iss: input.issuer,
    aud: input.audience,
    sub: input.userId,
    iat,
    exp: iat + input.ttlSeconds,
    jti: randomBytes(16).toString('base64url'),
  }
  // RFC 7515 §5.1 (JWS Compact Serialization) with RFC 7518 §3.4 (ES256: ECDSA P-256 with SHA-256,
  // the signature as the 64-byte R || S, which node:crypto's `ieee-p1363` encoding gives). Signed
  // synchronously with a node:crypto KeyObject: the same bytes a WebCrypto sign would produce (any
  // JOSE library verifies them, jwt.test.ts checks with jose), without the thread-pool round trip
  // that cost a refresh about 0.6 ms of CPU on this machine.
  const input64 = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
  const signature = sign('sha256', Buffer.from(input64), { key: keyObject, dsaEncoding: 'ieee-p1363' })
  return `${input64}.${signature.toString('base64url')}`
}

/**
 * Why an access token was refused; a stable contract (messages are for people and may change).
 * - `missing`: no token; `malformed`: not a compact JWS of sane size, or an unparseable one;
 * - `algorithm_not_allowed`: `alg` outside the allowlist (`none` and HMAC included);
 * - `unknown_key`: no trusted key has its `kid`; `key_set_unavailable`: the JWK Set could not be had;
 * - `invalid_signature`; `wrong_type`: `typ` is not at+jwt (RFC 9068);
 * - `wrong_issuer`, `wrong_audience`; `missing_claims`: `iss aud sub sid iat exp jti` not all there
 *   (or `sub sid jti` not strings); `invalid_claims`: another claim jose found of the wrong type;
 * - `expired`; `not_yet_valid`: `nbf` (or `iat`) in the future beyond the clock tolerance;
 * - `too_long_lived`: `exp − iat` beyond `maxTokenAge` (finding 6);
 * - `session_ended`: valid, but its session was signed out or revoked (a resource server following
 *   the revocation feed, resource-revocations.ts);
 * - `rejected`: anything else.
 */
export type InvalidAccessTokenCode =
  | 'missing'
  | 'malformed'
  | 'algorithm_not_allowed'
  | 'unknown_key'
  | 'key_set_unavailable'
  | 'invalid_signature'
  | 'wrong_type'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'missing_claims'
  | 'invalid_claims'
  | 'expired'
  | 'not_yet_valid'
  | 'too_long_lived'
  | 'session_ended'
  | 'rejected'

export class InvalidAccessTokenError extends Error {
  override name = 'InvalidAccessTokenError'
  constructor(
    message: string,
    readonly code: InvalidAccessTokenCode = 'rejected',
  ) {
    super(message)
  }
}

/** The code of a jose verification failure. */
function joseCode(e: errors.JOSEError): InvalidAccessTokenCode {
  if (e instanceof errors.JWTExpired) return 'expired'
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.reason === 'missing') return 'missing_claims'
    switch (e.claim) {
      case 'typ':
        return 'wrong_type'
      case 'iss':
        return 'wrong_issuer'
      case 'aud':
        return 'wrong_audience'
      case 'nbf':
      case 'iat':
        return e.reason === 'check_failed' ? 'not_yet_valid' : 'invalid_claims'
      default:
        return 'invalid_claims'
    }
  }
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'invalid_signature'
  if (e instanceof errors.JOSEAlgNotAllowed) return 'algorithm_not_allowed'
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return 'malformed'
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) return 'unknown_key'
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid) return 'key_set_unavailable'
  return 'rejected'
}

export interface VerifyCoreOptions {
  issuer: string
  audience: string
  /** Allowed `alg` values; default ES256 only. */
  algorithms?: string[]
  /** Seconds of clock skew tolerated on exp/nbf/iat (default 5). */
  clockTolerance?: number
  currentDate?: Date
  /**
   * Longest accepted lifetime `exp − iat`, seconds (plus `clockTolerance`). A token whose issuer
   * gave it a longer life is refused even though it is signed by a trusted key: a forged or
   * leaked-key token with `exp` years ahead cannot outlive the configured access-token lifetime.
   * Security review finding 6 (OWASP ASVS 5.0 V13/V11 key storage, NIST SP 800-57 Part 1 §5.3:
   * limit the damage of a compromised key by bounding what it can sign for). Unset: no bound.
   */
  maxTokenAge?: number
}

/**
 * Verifies an access token per RFC 8725 / RFC 9068 §4: the signature with a key chosen by `kid`
 * from a trusted set, an allowlisted `alg` (never `none`, never HMAC, so a public key can't be
 * used as an HMAC secret), `typ` at+jwt, `iss` and `aud` exactly (`aud` one string), `exp` and
 * `nbf` with a small clock tolerance, and the presence of `sub`, `sid`, `iat`, `jti`. Any failure
 * throws InvalidAccessTokenError with a `code` saying why and a message that carries no token material.
 */
export async function verifyAccessTokenWith(token: unknown, getKey: JWTVerifyGetKey, options: VerifyCoreOptions): Promise<AccessTokenClaims> {
  if (token === undefined || token === '') throw new InvalidAccessTokenError('malformed token', 'missing')
  if (typeof token !== 'string' || token.length > 4096) throw new InvalidAccessTokenError('malformed token', 'malformed')
  try {
    const { payload } = await jwtVerify(token, getKey, {
      algorithms: options.algorithms ?? [ACCESS_TOKEN_ALG],
      issuer: options.issuer,
      audience: options.audience,
      typ: ACCESS_TOKEN_TYP,
      clockTolerance: options.clockTolerance ?? DEFAULT_CLOCK_TOLERANCE,
      requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat', 'jti', 'sid'],
      ...(options.currentDate ? { currentDate: options.currentDate } : {}),
    })
    if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string' || typeof payload.jti !== 'string') {
      throw new InvalidAccessTokenError('missing claims', 'missing_claims')
    }
    if (payload.roles !== undefined && !(Array.isArray(payload.roles) && payload.roles.length <= 64 && payload.roles.every((r) => typeof r === 'string'))) {
      throw new InvalidAccessTokenError('the roles claim is not a list of names', 'invalid_claims')
    }
    // One audience per token (RFC 8707, finding 9): a token naming several services would be good at each.
    if (typeof payload.aud !== 'string') throw new InvalidAccessTokenError('token names more than one audience', 'wrong_audience')
    if (options.maxTokenAge !== undefined) {
      const lifetime = (payload.exp ?? 0) - (payload.iat ?? 0)
      if (!(lifetime <= options.maxTokenAge + (options.clockTolerance ?? DEFAULT_CLOCK_TOLERANCE))) throw new InvalidAccessTokenError('token lifetime exceeds the allowed maximum', 'too_long_lived')
    }
    return payload as AccessTokenClaims
  } catch (e) {
    if (e instanceof InvalidAccessTokenError) throw e
    if (e instanceof errors.JWTExpired) throw new InvalidAccessTokenError('token expired', 'expired')
    if (e instanceof errors.JOSEError) throw new InvalidAccessTokenError(`token rejected (${e.code})`, joseCode(e))
    throw new InvalidAccessTokenError('token rejected', 'rejected')
  }
}

/** A jose key resolver over the server's own KeyStore. */
export function keyStoreResolver(keys: KeyStore): JWTVerifyGetKey {
  return async (header) => {
    if (header.alg !== ACCESS_TOKEN_ALG) throw new InvalidAccessTokenError('algorithm not allowed', 'algorithm_not_allowed')
    const key = await keys.publicKey(header.kid)
    if (!key) throw new InvalidAccessTokenError('unknown key id', 'unknown_key')
    return key
  }
}
