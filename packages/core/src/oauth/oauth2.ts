import { NetworkError, OAuthError, RefreshRejectedError } from '../errors/errors.js'
import { parseTokenResponse, type TokenResponse } from '../session/token-response.js'
import { postForm, type EndpointOptions } from './http.js'

/** `null`: the refresh credential is held outside JS (an httpOnly cookie on the web). */
export interface RefreshFn {
  (refreshToken: string | null, ctx: { signal: AbortSignal }): Promise<TokenResponse>
  /**
   * The token endpoint, when the function knows it (`oauth2Refresh` does): its origin is where
   * `client.fetch` and `attachAxios` send the access token unless `tokenOrigins` says otherwise.
   */
  readonly tokenEndpoint?: string
}
export type RevokeFn = (token: string | null, ctx: { signal: AbortSignal }) => Promise<void>

export interface OAuth2RefreshOptions extends EndpointOptions {
  tokenEndpoint: string
  scope?: string
  /**
   * RFC 8707 resource indicator: the API (resource server) the access tokens are for, sent as
   * `resource` with every refresh; the server makes each token's `aud` that one URI. An absolute
   * URI without a fragment (§2). Unset: tokens for the auth server itself. One per session: see
   * the README's *Several APIs* for an app that calls more than one.
   */
  resource?: string
}

/** RFC 8707 §2 / RFC 3986 §4.3: an absolute URI (a scheme, then something) with no fragment. No URL parser: Hermes' is partial. */
const RESOURCE_INDICATOR = /^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x22\x24-\x7e]+$/

/**
 * Refresh over the standard token endpoint: RFC 6749 §6 (grant_type=refresh_token, form body),
 * answers per §5.1 / §5.2. `invalid_grant` is the one definitive rejection; 408, 429, 5xx,
 * unreachable, timeouts and unparseable success bodies are network-class (the session is kept).
 * Any other error (`invalid_target` for a resource the server does not know, say) is `LK_OAUTH`
 * and keeps the session too: it is a configuration problem, not the user's.
 */
export function oauth2Refresh(options: OAuth2RefreshOptions): RefreshFn {
  if (!options.tokenEndpoint) throw new TypeError('oauth2Refresh: tokenEndpoint is required')
  if (options.resource !== undefined && !RESOURCE_INDICATOR.test(options.resource)) {
    throw new TypeError('oauth2Refresh: resource must be an absolute URI without a fragment, like https://api.example.com (RFC 8707 §2)')
  }
  const refresh = async (refreshToken: string | null, { signal }: { signal: AbortSignal }): Promise<TokenResponse> => {
    const form = new URLSearchParams({ grant_type: 'refresh_token' })
    if (refreshToken !== null) form.set('refresh_token', refreshToken)
    if (options.clientId) form.set('client_id', options.clientId)
    if (options.scope) form.set('scope', options.scope)
    if (options.resource !== undefined) form.set('resource', options.resource)
    const { status, body } = await postForm(options.tokenEndpoint, form, options, signal)
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
    const error = typeof (body as { error?: unknown })?.error === 'string' ? (body as { error: string }).error : undefined
    const description = (body as { error_description?: unknown })?.error_description
    if (error === 'invalid_grant') throw new RefreshRejectedError('refresh token rejected (invalid_grant)', { oauthError: error })
    throw new OAuthError(error ?? `http_${status}`, { status, ...(typeof description === 'string' ? { description } : {}) })
  }
  return Object.assign(refresh, { tokenEndpoint: options.tokenEndpoint })
}

/**
 * Token revocation, RFC 7009 §2.1: POST token + token_type_hint=refresh_token. A 200 means done
 * (also for tokens the server no longer knows, §2.2); 503 and network failures are retried later.
 * With `token: null` the credential travels as a cookie and only the hint is sent.
 */
export function oauth2Revoke(options: EndpointOptions & { revocationEndpoint: string }): RevokeFn {
  if (!options.revocationEndpoint) throw new TypeError('oauth2Revoke: revocationEndpoint is required')
  return async (token, { signal }) => {
    const form = new URLSearchParams({ token_type_hint: 'refresh_token' })
    if (token !== null) form.set('token', token)
    if (options.clientId) form.set('client_id', options.clientId)
    const { status } = await postForm(options.revocationEndpoint, form, options, signal)
    if (status >= 200 && status < 300) return
    if (status === 429 || status >= 500) {
      throw new NetworkError(status === 429 ? 'rate_limited' : 'server_error', `revocation endpoint answered ${status}`, { status })
    }
    throw new OAuthError(`http_${status}`, { status })
  }
}
