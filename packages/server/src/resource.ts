import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
import type { MiddlewareHandler } from 'hono'
import { ACCESS_TOKEN_ALG } from './crypto/keys.js'
import { InvalidAccessTokenError, verifyAccessTokenWith, type AccessTokenClaims } from './crypto/jwt.js'
import { HttpError, errorResponse, invalidToken, missingToken } from './http/errors.js'
import { requestCredentials } from './http/dpop.js'
import { checkDpopBinding } from './dpop/binding.js'
import { DpopProofVerifier, type JtiStore } from './dpop/proof.js'
import { MemoryJtiStore } from './dpop/jti-store.js'
import type { RevocationFollower } from './resource-revocations.js'
import { insufficientRole } from './roles/http.js'
import { checkRoleName } from './roles/names.js'

export type { AccessTokenClaims }

export type VerifyAccessTokenOptions = ({ jwksUrl: string | URL; keys?: never } | { keys: JSONWebKeySet; jwksUrl?: never }) & {
  issuer: string
  /**
   * This resource server's own audience: its resource URI, exactly as the auth server lists it in
   * LATCHKEY_RESOURCES and as clients send it as `resource` (RFC 8707 §2). Tokens for any other
   * audience, the auth server's own included, are refused. The issuer is not accepted here.
   */
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
  /**
   * The auth server's revocation feed (`followRevocations`): a token whose session was signed out
   * or revoked is then refused (`session_ended`) within moments, not only once it expires.
   */
  revocations?: Pick<RevocationFollower, 'hasEnded'>
}

/** Verifies one access token for the resource server it was made for; rejects with InvalidAccessTokenError. */
export interface AccessTokenVerifier {
  (token: string): Promise<AccessTokenClaims>
  readonly audience: string
}

const withoutTrailingSlash = (s: string) => s.replace(/\/+$/, '')

/**
 * Builds a verifier for one resource server: its options are checked and its key set built here,
 * once (a remote set is fetched on first use, cached by jose, and refetched on an unknown `kid`
 * no more than every 30 s), never per request and never shared through module state.
 *
 * The audience must be the resource server's own (security review finding 9): with the issuer as
 * the audience, every token the auth server issues for itself (the ones /me accepts, which every
 * signed-in app holds) would be accepted here too, and a token sent to one service would work at
 * every other. So `audience` equal to `issuer` is refused with a TypeError. An auth server with its
 * own `audience` set is not detectable from here: do not configure a resource server with that one.
 */
export function createAccessTokenVerifier(options: VerifyAccessTokenOptions): AccessTokenVerifier {
  if (!options.issuer || !options.audience) throw new TypeError('createAccessTokenVerifier: issuer and audience are required')
  if (withoutTrailingSlash(options.audience) === withoutTrailingSlash(options.issuer)) {
    throw new TypeError(
      "createAccessTokenVerifier: audience must be this resource server's own resource URI (listed in the auth server's LATCHKEY_RESOURCES), not the issuer: tokens for the issuer are the auth server's own (RFC 8707)",
    )
  }
  const getKey = keySet(options)
  const core = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: options.algorithms ?? [ACCESS_TOKEN_ALG],
    ...(options.clockTolerance !== undefined ? { clockTolerance: options.clockTolerance } : {}),
    ...(options.maxTokenAge !== undefined ? { maxTokenAge: options.maxTokenAge } : {}),
  }
  // verifyAccessTokenWith also refuses a token naming more than one audience (RFC 8707, one per token).
  const revocations = options.revocations
  const verify = async (token: string) => {
    const claims = await verifyAccessTokenWith(token, getKey, core)
    if (revocations && (await revocations.hasEnded(claims.sid))) throw new InvalidAccessTokenError('the session ended', 'session_ended')
    return claims
  }
  return Object.assign(verify, { audience: options.audience })
}

function keySet(o: VerifyAccessTokenOptions): JWTVerifyGetKey {
  let set: JWTVerifyGetKey
  if (o.keys) set = createLocalJWKSet(o.keys)
  else if (o.jwksUrl) set = createRemoteJWKSet(new URL(String(o.jwksUrl)), { cooldownDuration: 30_000, cacheMaxAge: 600_000 })
  else throw new TypeError('createAccessTokenVerifier: jwksUrl or keys is required')
  // Our tokens always name their key; one without a `kid` is not ours (same rule as the server).
  return (header, token) => {
    if (typeof header.kid !== 'string' || header.kid === '') throw new InvalidAccessTokenError('token has no kid', 'unknown_key')
    return set(header, token)
  }
}

/**
 * Verifies a Latchkey access token without calling the auth server: signature by a key from the
 * JWKS (fetched from `jwksUrl`, or given as `keys`), alg allowlist (ES256), `typ` at+jwt, `iss`,
 * `aud` (this resource server's own, one value), `exp`, `nbf`. Resolves to the claims (`sub` is
 * the user id, `sid` the session id); rejects with InvalidAccessTokenError. Stateless: a revoked
 * session's token stays valid here until it expires (access tokens are short-lived for that reason).
 *
 * A one-off check: each call builds its own key set (with `jwksUrl`, one JWKS fetch per call). A
 * server verifying many tokens makes one `createAccessTokenVerifier(options)` and calls that.
 */
export async function verifyAccessToken(token: string, options: VerifyAccessTokenOptions): Promise<AccessTokenClaims> {
  return createAccessTokenVerifier(options)(token)
}

/**
 * Hono middleware for resource servers: requires `Authorization: Bearer <access token>` (or, for a
 * DPoP-bound token, `Authorization: DPoP <access token>` with a `DPoP` proof by its key, RFC 9449 §7.1), sets
 * `c.get('accessToken')` to the verified claims, or answers 401 with the auth server's RFC 6750 §3
 * challenge (a bare `Bearer` when no token was sent). The verifier (and its key set) is built
 * once, here; pass one from `createAccessTokenVerifier` to share it between routes.
 */
export interface RequireAccessTokenDpopOptions {
  /**
   * Where this resource server records the `jti`s of DPoP proofs (RFC 9449 §11.1). Default: in
   * this process's memory, which is enough for one process; several processes behind one name
   * need a shared store, else a proof can be replayed once at each of them.
   */
  jtis?: JtiStore
  /** The request's URI as clients address it (for `htu`); default the URL the request arrived with. Set it behind a proxy. */
  url?: (request: Request) => string
  now?: () => Date
}

export function requireAccessToken(
  options: (VerifyAccessTokenOptions & RequireRolesOptions) | AccessTokenVerifier,
  more: RequireRolesOptions & RequireAccessTokenDpopOptions = {},
): MiddlewareHandler<{ Variables: { accessToken: AccessTokenClaims } }> {
  const verify = typeof options === 'function' ? options : createAccessTokenVerifier(options)
  const needed = [...(typeof options === 'function' ? [] : (options.roles ?? [])), ...(more.roles ?? [])].map(checkRoleName)
  // RFC 9449 §7.1: DPoP-bound tokens (`cnf.jkt`) need the DPoP scheme and a proof by their key.
  const proofs = new DpopProofVerifier({ jtis: more.jtis ?? new MemoryJtiStore(), now: more.now ?? (() => new Date()) })
  const urlOf = more.url ?? ((r: Request) => r.url)
  return async function requireAccessTokenHandler(c, next) {
    const creds = requestCredentials(c, urlOf(c.req.raw))
    const token = creds.token
    if (!token) return errorResponse(c, missingToken())
    let claims: AccessTokenClaims
    try {
      claims = await verify(token)
    } catch (e) {
      if (!(e instanceof InvalidAccessTokenError)) throw e
      return errorResponse(c, invalidToken())
    }
    try {
      await checkDpopBinding(proofs, claims, creds)
    } catch (e) {
      if (e instanceof HttpError) return errorResponse(c, e)
      throw e
    }
    if (!hasRoles(claims, needed)) return errorResponse(c, insufficientRole(needed))
    c.set('accessToken', claims)
    await next()
  }
}

export interface RequireRolesOptions {
  /**
   * Roles the token's `roles` claim must ALL carry (issue 15); otherwise 403 `insufficient_scope`
   * (RFC 6750 §3.1). The claim is signed with the token, so it cannot be edited without failing the
   * signature; it says what the user held when the token was issued (a revoked role lasts until the
   * token's next refresh, at most the access-token lifetime).
   */
  roles?: readonly string[]
}

const hasRoles = (claims: AccessTokenClaims, needed: readonly string[]) => needed.every((r) => Array.isArray(claims.roles) && claims.roles.includes(r))

/**
 * After `requireAccessToken`: the verified token must carry every one of `roles`, else 403 with
 * `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC 6750 §3.1). Same as
 * `requireAccessToken(options, { roles })`, for routes that share one token middleware.
 */
export function requireRole(...roles: string[]): MiddlewareHandler<{ Variables: { accessToken: AccessTokenClaims } }> {
  const needed = roles.map(checkRoleName)
  if (needed.length === 0) throw new TypeError('requireRole: name at least one role')
  return async function requireRoleHandler(c, next) {
    const claims = c.get('accessToken') as AccessTokenClaims | undefined
    if (!claims) return errorResponse(c, missingToken())
    if (!hasRoles(claims, needed)) return errorResponse(c, insufficientRole(needed))
    await next()
  }
}
