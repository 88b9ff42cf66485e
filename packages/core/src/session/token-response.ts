import { InvalidTokenResponseError, OAuthError } from '../errors/errors.js'

/** RFC 6749 §5.1 successful access token response. */
export interface TokenResponse {
  access_token: string
  token_type?: string
  expires_in?: number
  refresh_token?: string
  scope?: string
  /** OpenID Connect Core §3.1.3.3: present when the grant carries `openid`. */
  id_token?: string
  [extra: string]: unknown
}

export interface ParsedTokenResponse {
  accessToken: string
  tokenType: string
  expiresIn: number | null
  refreshToken: string | undefined
  scope: string | undefined
  idToken: string | undefined
}

/**
 * Validates a token response; throws InvalidTokenResponseError naming the field, never the value,
 * or OAuthError when the body is an RFC 6749 §5.2 error response (`{error, error_description}`).
 */
export function parseTokenResponse(body: unknown): ParsedTokenResponse {
  if (typeof body !== 'object' || body === null) throw new InvalidTokenResponseError('token response is not an object')
  const r = body as Record<string, unknown>
  if (typeof r.access_token !== 'string' || r.access_token === '') {
    // An error response (RFC 6749 §5.2) handed over as if it were a token response: say what the server said.
    if (typeof r.error === 'string' && r.error !== '') {
      throw new OAuthError(r.error, typeof r.error_description === 'string' ? { description: r.error_description } : {})
    }
    throw new InvalidTokenResponseError('token response has no access_token')
  }
  if (r.token_type !== undefined && typeof r.token_type !== 'string') {
    throw new InvalidTokenResponseError('token_type must be a string')
  }
  // Some servers send expires_in as a numeric string; accept it, reject anything else.
  let expiresIn: number | null = null
  if (r.expires_in !== undefined && r.expires_in !== null) {
    const n = typeof r.expires_in === 'string' ? Number(r.expires_in) : r.expires_in
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new InvalidTokenResponseError('expires_in must be a non-negative number')
    expiresIn = n
  }
  if (r.refresh_token !== undefined && r.refresh_token !== null && typeof r.refresh_token !== 'string') {
    throw new InvalidTokenResponseError('refresh_token must be a string')
  }
  return {
    accessToken: r.access_token,
    tokenType: typeof r.token_type === 'string' ? r.token_type : 'Bearer',
    expiresIn,
    refreshToken: typeof r.refresh_token === 'string' ? r.refresh_token : undefined,
    scope: typeof r.scope === 'string' ? r.scope : undefined,
    idToken: typeof r.id_token === 'string' && r.id_token !== '' ? r.id_token : undefined,
  }
}
