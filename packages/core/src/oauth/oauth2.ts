import { ClientConfigError, NetworkError, OAuthError, RefreshRejectedError } from '../errors/errors.js'
import type { DpopSigner } from '../dpop/proof.js'
import { parseTokenResponse, type TokenResponse } from '../session/token-response.js'
import { postForm, type EndpointOptions, type FormAnswer } from './http.js'

/** What a refresh or revoke function is handed for one call. */
export interface OAuthCallContext {
  signal: AbortSignal
  /**
   * Present when the session is DPoP-bound (RFC 9449): prove possession of its key with a
   * `DPoP` header on the request (`oauth2Refresh` and `oauth2Revoke` do).
   */
  dpop?: DpopSigner
}

/** `null`: the refresh credential is held outside JS (an httpOnly cookie on the web). */
export interface RefreshFn {
  (refreshToken: string | null, ctx: OAuthCallContext): Promise<TokenResponse>
  /**
   * The token endpoint, when the function knows it (`oauth2Refresh` does): its origin is where
   * `client.fetch` and `attachAxios` send the access token unless `tokenOrigins` says otherwise.
   */
  readonly tokenEndpoint?: string
}
export type RevokeFn = (token: string | null, ctx: OAuthCallContext) => Promise<void>

/**
 * How the client authenticates to the authorization server (RFC 6749 §2.3; the names are those
 * of RFC 7591 §2 `token_endpoint_auth_method`). `none`: a public client, `client_id` in the body
 * (the default, and what a mobile app is: RFC 8252 §8.4).
 */
export type ClientAuthentication =
  | { method: 'none' }
  | { method: 'client_secret_basic'; clientSecret: string }
  | { method: 'client_secret_post'; clientSecret: string }

export interface OAuthClientOptions extends EndpointOptions {
  clientAuthentication?: ClientAuthentication
  /**
   * RFC 8707 resource indicators: the API(s) (resource servers) the access tokens are for, sent
   * as `resource` (repeated for several) with every request; the server makes each token's `aud`
   * those URIs. Absolute URIs without a fragment (§2). Unset: tokens for the auth server itself.
   */
  resource?: string | readonly string[]
  /** More form parameters for every request (a provider's own, e.g. `audience`). They cannot replace the ones set here. */
  extraParams?: Record<string, string>
}

export interface OAuth2RefreshOptions extends OAuthClientOptions {
  tokenEndpoint: string
  scope?: string
}

export interface OAuth2RevokeOptions extends OAuthClientOptions {
  revocationEndpoint: string
}

/** RFC 8707 §2 / RFC 3986 §4.3: an absolute URI (a scheme, then something) with no fragment. No URL parser: Hermes' is partial. */
const RESOURCE_INDICATOR = /^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x22\x24-\x7e]+$/

function checkedResources(name: string, resource: OAuthClientOptions['resource']): string[] {
  if (resource === undefined) return []
  const list = typeof resource === 'string' ? [resource] : Array.isArray(resource) ? [...(resource as string[])] : null
  if (!list || list.length === 0 || list.some((r) => typeof r !== 'string' || !RESOURCE_INDICATOR.test(r))) {
    throw new TypeError(`${name}: resource must be an absolute URI without a fragment, like https://api.example.com, or a non-empty list of them (RFC 8707 §2)`)
  }
  return list
}

function checkedAuthentication(name: string, options: OAuthClientOptions): ClientAuthentication {
  const auth = options.clientAuthentication ?? { method: 'none' }
  if (auth.method === 'none') return auth
  if (auth.method !== 'client_secret_basic' && auth.method !== 'client_secret_post') {
    throw new TypeError(`${name}: clientAuthentication.method must be none, client_secret_basic or client_secret_post`)
  }
  if (!options.clientId) throw new TypeError(`${name}: ${auth.method} needs a clientId`)
  if (typeof auth.clientSecret !== 'string' || auth.clientSecret === '') throw new TypeError(`${name}: ${auth.method} needs a clientSecret`)
  return auth
}

/** RFC 6749 §2.3.1: id and secret are each form-urlencoded (Appendix B) before they are joined and base64-encoded. */
export function basicCredentials(clientId: string, clientSecret: string): string {
  const encode = (v: string) => encodeURIComponent(v).replace(/%20/g, '+').replace(/[!'()*~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  const bytes = new TextEncoder().encode(`${encode(clientId)}:${encode(clientSecret)}`)
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return `Basic ${btoaAscii(binary)}`
}

function btoaAscii(binary: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  let out = ''
  for (let i = 0; i < binary.length; i += 3) {
    const a = binary.charCodeAt(i)
    const b = i + 1 < binary.length ? binary.charCodeAt(i + 1) : NaN
    const c = i + 2 < binary.length ? binary.charCodeAt(i + 2) : NaN
    const n = (a << 16) | ((b || 0) << 8) | (c || 0)
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + (Number.isNaN(b) ? '=' : alphabet[(n >> 6) & 63]!) + (Number.isNaN(c) ? '=' : alphabet[n & 63]!)
  }
  return out
}

const errorOf = (body: unknown) => (typeof (body as { error?: unknown })?.error === 'string' ? (body as { error: string }).error : undefined)
const descriptionOf = (body: unknown) => {
  const d = (body as { error_description?: unknown })?.error_description
  return typeof d === 'string' ? { description: d } : {}
}

/** Everything both endpoints share: the form, client authentication, resource, extras, DPoP and its nonce dance. */
function createExchange(name: string, options: OAuthClientOptions) {
  const auth = checkedAuthentication(name, options)
  const resources = checkedResources(name, options.resource)
  const extras = Object.entries(options.extraParams ?? {})
  return async (url: string, params: Record<string, string | null | undefined>, ctx: OAuthCallContext): Promise<FormAnswer> => {
    const form = new URLSearchParams()
    for (const [k, v] of extras) form.set(k, v)
    for (const [k, v] of Object.entries(params)) if (typeof v === 'string') form.set(k, v)
    for (const r of resources) form.append('resource', r)
    const headers: Record<string, string> = { ...options.headers }
    if (auth.method === 'client_secret_basic') headers.Authorization = basicCredentials(options.clientId!, auth.clientSecret)
    else if (options.clientId) form.set('client_id', options.clientId)
    if (auth.method === 'client_secret_post') form.set('client_secret', auth.clientSecret)
    const send = async () => {
      // RFC 9449 §5: a fresh proof for each request, the nonce included once one is known.
      if (ctx.dpop) headers.DPoP = await ctx.dpop.proof('POST', url)
      const answer = await postForm(url, form, { ...options, headers }, ctx.signal)
      return { answer, changed: ctx.dpop?.learn(url, answer.headers) ?? false }
    }
    const { answer, changed } = await send()
    // RFC 9449 §8: the server wants a nonce (`use_dpop_nonce` with a new `DPoP-Nonce`), or refused
    // an `iat` from a device clock far from its own (its `Date` says how far): retry once.
    const error = errorOf(answer.body)
    if (changed && answer.status === 400 && (error === 'use_dpop_nonce' || error === 'invalid_dpop_proof')) return (await send()).answer
    return answer
  }
}

/** Errors every endpoint treats alike: the client's set-up, not the user's session. */
function configurationError(status: number, body: unknown): ClientConfigError | null {
  const error = errorOf(body)
  // RFC 6749 §5.2 invalid_client (401 or 400); unauthorized_client: this client may not use the grant.
  // RFC 9449 §7.1 invalid_dpop_proof / a second use_dpop_nonce: the proofs are refused.
  if (error === 'invalid_client' || error === 'unauthorized_client' || error === 'invalid_dpop_proof' || error === 'use_dpop_nonce') {
    return new ClientConfigError(error, { status, ...descriptionOf(body) })
  }
  return null
}

/**
 * Refresh over the standard token endpoint: RFC 6749 §6 (grant_type=refresh_token, form body),
 * answers per §5.1 / §5.2. `invalid_grant` is the one definitive rejection; 408, 429, 5xx,
 * unreachable, timeouts and unparseable success bodies are network-class (the session is kept).
 * `invalid_client` (and a refused DPoP proof) is `LK_CLIENT_CONFIG`: the session is kept and no
 * backoff retries it. Any other error (`invalid_target` for a resource the server does not know,
 * say) is `LK_OAUTH` and keeps the session too. The whole response is returned, `id_token`
 * included (OpenID Connect Core §12.2).
 */
export function oauth2Refresh(options: OAuth2RefreshOptions): RefreshFn {
  if (!options.tokenEndpoint) throw new TypeError('oauth2Refresh: tokenEndpoint is required')
  const exchange = createExchange('oauth2Refresh', options)
  const refresh = async (refreshToken: string | null, ctx: OAuthCallContext): Promise<TokenResponse> => {
    const { status, body } = await exchange(options.tokenEndpoint, { grant_type: 'refresh_token', refresh_token: refreshToken, scope: options.scope }, ctx)
    if (status === 408 || status === 429 || status >= 500) {
      throw new NetworkError(status === 429 ? 'rate_limited' : 'server_error', `token endpoint answered ${status}`, { status })
    }
    if (status >= 200 && status < 300) {
      try {
        parseTokenResponse(body)
      } catch (cause) {
        throw new NetworkError('malformed_response', 'token endpoint returned a malformed body', { cause, status })
      }
      return body as TokenResponse
    }
    const error = errorOf(body)
    if (error === 'invalid_grant') throw new RefreshRejectedError('refresh token rejected (invalid_grant)', { oauthError: error })
    throw configurationError(status, body) ?? new OAuthError(error ?? `http_${status}`, { status, ...descriptionOf(body) })
  }
  return Object.assign(refresh, { tokenEndpoint: options.tokenEndpoint })
}

/**
 * Token revocation, RFC 7009 §2.1: POST token + token_type_hint=refresh_token. A 200 means done
 * (also for tokens the server no longer knows, §2.2); 503 and network failures are retried later.
 * With `token: null` the credential travels as a cookie and only the hint is sent.
 */
export function oauth2Revoke(options: OAuth2RevokeOptions): RevokeFn {
  if (!options.revocationEndpoint) throw new TypeError('oauth2Revoke: revocationEndpoint is required')
  const exchange = createExchange('oauth2Revoke', options)
  return async (token, ctx) => {
    const { status, body } = await exchange(options.revocationEndpoint, { token_type_hint: 'refresh_token', token }, ctx)
    if (status >= 200 && status < 300) return
    if (status === 429 || status >= 500) {
      throw new NetworkError(status === 429 ? 'rate_limited' : 'server_error', `revocation endpoint answered ${status}`, { status })
    }
    throw configurationError(status, body) ?? new OAuthError(errorOf(body) ?? `http_${status}`, { status, ...descriptionOf(body) })
  }
}
