/**
 * Every error the API answers with: RFC 6749 §5.2 shape `{error, error_description}` and a 4xx
 * status (5xx only for real server faults, with a generic message).
 */
export class HttpError extends Error {
  override name = 'HttpError'
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 503,
    readonly error: string,
    readonly description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description)
  }
}

export const invalidRequest = (description: string) => new HttpError(400, 'invalid_request', description)
export const invalidGrant = (description = 'the refresh token is invalid, expired or revoked') => new HttpError(400, 'invalid_grant', description)

/** RFC 6750 §3: 401 with a WWW-Authenticate challenge. */
export const invalidToken = (description = 'the access token is missing, invalid or expired') =>
  new HttpError(401, 'invalid_token', description, {
    'WWW-Authenticate': `Bearer error="invalid_token", error_description="${description.replace(/["\\]/g, '')}"`,
  })
