import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
import type { MiddlewareHandler } from 'hono'
import { ACCESS_TOKEN_ALG } from './crypto/keys.js'
import { InvalidAccessTokenError, verifyAccessTokenWith, type AccessTokenClaims } from './crypto/jwt.js'
import { bearerToken } from './http/context.js'

export type { AccessTokenClaims }

export type VerifyAccessTokenOptions = ({ jwksUrl: string | URL; keys?: never } | { keys: JSONWebKeySet; jwksUrl?: never }) & {
  issuer: string
  audience: string
  /** Default ['ES256']. */
  algorithms?: string[]
  /** Seconds of tolerated clock skew (default 5). */
  clockTolerance?: number
  /**
   * Longest accepted token lifetime `exp − iat`, seconds (the auth server's LATCHKEY_ACCESS_TTL;
   * `clockTolerance` is added as leeway). Set it: a token signed with a stolen key but given a
   * long life is then refused. Unset: no bound (compatibility).
   */
  maxTokenAge?: number
}

// One cached remote key set per JWKS URL (jose caches keys and refetches on an unknown kid,
// rate-limited by its cooldown).
const remoteSets = new Map<string, JWTVerifyGetKey>()

function resolver(o: VerifyAccessTokenOptions): JWTVerifyGetKey {
  let set: JWTVerifyGetKey | undefined
  if (o.keys) set = createLocalJWKSet(o.keys)
  else {
    const url = String(o.jwksUrl)
    set = remoteSets.get(url)
    if (!set) {
      set = createRemoteJWKSet(new URL(url), { cooldownDuration: 30_000, cacheMaxAge: 600_000 })
      remoteSets.set(url, set)
    }
  }
  const keySet = set
  // Our tokens always name their key; one without a `kid` is not ours (same rule as the server).
  return (header, token) => {
    if (typeof header.kid !== 'string' || header.kid === '') throw new InvalidAccessTokenError('token has no kid')
    return keySet(header, token)
  }
}

/**
 * Verifies a Latchkey access token without calling the auth server: signature by a key from the
 * JWKS (fetched from `jwksUrl`, or given as `keys`), alg allowlist (ES256), `typ` at+jwt, `iss`,
 * `aud`, `exp`, `nbf`. Resolves to the claims (`sub` is the user id, `sid` the session id);
 * rejects with InvalidAccessTokenError. Stateless: a revoked session's token stays valid here
 * until it expires (access tokens are short-lived for that reason).
 */
export async function verifyAccessToken(token: string, options: VerifyAccessTokenOptions): Promise<AccessTokenClaims> {
  if (!options.issuer || !options.audience) throw new TypeError('verifyAccessToken: issuer and audience are required')
  return verifyAccessTokenWith(token, resolver(options), {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: options.algorithms ?? [ACCESS_TOKEN_ALG],
    ...(options.clockTolerance !== undefined ? { clockTolerance: options.clockTolerance } : {}),
    ...(options.maxTokenAge !== undefined ? { maxTokenAge: options.maxTokenAge } : {}),
  })
}

/**
 * Hono middleware for resource servers: requires `Authorization: Bearer <access token>`, sets
 * `c.get('accessToken')` to the verified claims, or answers 401 with an RFC 6750 challenge.
 */
export function requireAccessToken(options: VerifyAccessTokenOptions): MiddlewareHandler<{ Variables: { accessToken: AccessTokenClaims } }> {
  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'))
    let claims: AccessTokenClaims
    try {
      if (!token) throw new InvalidAccessTokenError('missing bearer token')
      claims = await verifyAccessToken(token, options)
    } catch (e) {
      if (!(e instanceof InvalidAccessTokenError)) throw e
      const description = token ? 'the access token is invalid or expired' : 'an access token is required'
      c.header('WWW-Authenticate', token ? `Bearer error="invalid_token", error_description="${description}"` : 'Bearer')
      return c.json({ error: 'invalid_token', error_description: description }, 401)
    }
    c.set('accessToken', claims)
    await next()
  }
}
