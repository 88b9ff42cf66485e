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

/**
 * Refresh over the standard token endpoint: RFC 6749 §6 (grant_type=refresh_token, form body),
 * answers per §5.1 / §5.2. `invalid_grant` is the one definitive rejection; 408, 429, 5xx,
 * unreachable, timeouts and unparseable success bodies are network-class (the session is kept).
 */
export function oauth2Refresh(options: EndpointOptions & { tokenEndpoint: string; scope?: string }): RefreshFn {
  if (!options.tokenEndpoint) throw new TypeError('oauth2Refresh: tokenEndpoint is required')
  const refresh = async (refreshToken: string | null, { signal }: { signal: AbortSignal }): Promise<TokenResponse> => {
    const form = new URLSearchParams({ grant_type: 'refresh_token' })
    if (refreshToken !== null) form.set('refresh_token', refreshToken)
    if (options.clientId) form.set('client_id', options.clientId)
    if (options.scope) form.set('scope', options.scope)
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
