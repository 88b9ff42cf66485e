import { randomBytes } from 'node:crypto'
import { SignJWT, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { ACCESS_TOKEN_ALG, type KeyStore } from './keys.js'

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
}

export interface IssueAccessTokenInput {
  issuer: string
  audience: string
  userId: string
  sessionId: string
  ttlSeconds: number
  now: Date
}

export async function signAccessToken(keys: KeyStore, input: IssueAccessTokenInput): Promise<string> {
  const { kid, key } = await keys.signingKey()
  const iat = Math.floor(input.now.getTime() / 1000)
  return new SignJWT({ sid: input.sessionId })
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid, typ: ACCESS_TOKEN_TYP })
    .setIssuer(input.issuer)
    .setAudience(input.audience)
    .setSubject(input.userId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + input.ttlSeconds)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(key)
}

export class InvalidAccessTokenError extends Error {
  override name = 'InvalidAccessTokenError'
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
 * `nbf` with a small clock tolerance, and the presence of `sub`, `sid`, `iat`, `jti`. Any failure throws
 * InvalidAccessTokenError with a message that carries no token material.
 */
export async function verifyAccessTokenWith(token: unknown, getKey: JWTVerifyGetKey, options: VerifyCoreOptions): Promise<AccessTokenClaims> {
  if (typeof token !== 'string' || token.length === 0 || token.length > 4096) throw new InvalidAccessTokenError('malformed token')
  try {
    const { payload } = await jwtVerify(token, getKey, {
      algorithms: options.algorithms ?? [ACCESS_TOKEN_ALG],
      issuer: options.issuer,
      audience: options.audience,
      typ: ACCESS_TOKEN_TYP,
      clockTolerance: options.clockTolerance ?? 5,
      requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat', 'jti', 'sid'],
      ...(options.currentDate ? { currentDate: options.currentDate } : {}),
    })
    if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string' || typeof payload.jti !== 'string') {
      throw new InvalidAccessTokenError('missing claims')
    }
    // One audience per token (RFC 8707, finding 9): a token naming several services would be good at each.
    if (typeof payload.aud !== 'string') throw new InvalidAccessTokenError('token names more than one audience')
    if (options.maxTokenAge !== undefined) {
      const lifetime = (payload.exp ?? 0) - (payload.iat ?? 0)
      if (!(lifetime <= options.maxTokenAge + (options.clockTolerance ?? 5))) throw new InvalidAccessTokenError('token lifetime exceeds the allowed maximum')
    }
    return payload as AccessTokenClaims
  } catch (e) {
    if (e instanceof InvalidAccessTokenError) throw e
    if (e instanceof errors.JWTExpired) throw new InvalidAccessTokenError('token expired')
    if (e instanceof errors.JOSEError) throw new InvalidAccessTokenError(`token rejected (${e.code})`)
    throw new InvalidAccessTokenError('token rejected')
  }
}

/** A jose key resolver over the server's own KeyStore. */
export function keyStoreResolver(keys: KeyStore): JWTVerifyGetKey {
  return async (header) => {
    if (header.alg !== ACCESS_TOKEN_ALG) throw new InvalidAccessTokenError('algorithm not allowed')
    const key = await keys.publicKey(header.kid)
    if (!key) throw new InvalidAccessTokenError('unknown key id')
    return key
  }
}
