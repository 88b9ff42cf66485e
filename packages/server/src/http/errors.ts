import type { Context } from 'hono'

/**
 * The `error` of every answer the API gives: the registered OAuth codes, then this server's own
 * (each documented in the README's endpoint table).
 */
export type HttpErrorCode =
  // RFC 6749 §5.2: token endpoint errors.
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  // RFC 6749 §4.1.2.1, registered for the token endpoint too (RFC 6749 §11.4): 5xx and 503 answers.
  | 'server_error'
  | 'temporarily_unavailable'
  // RFC 6750 §3.1: protected resources.
  | 'invalid_token'
  | 'insufficient_scope'
  // RFC 7009 §2.2.1: revocation.
  | 'unsupported_token_type'
  // RFC 8707 §2: resource indicators.
  | 'invalid_target'
  // RFC 9449 §5, §7.1, §8, §9: DPoP.
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  // This server's own.
  | 'invalid_credentials'
  | 'account_exists'
  | 'rate_limited'
  | 'not_found'
  | 'method_not_allowed'
  // accounts/password-policy.ts: a new password that breaks the policy (with a `reason`).
  | 'invalid_password'
  // identity/: sign-in with an identity provider's ID token.
  | 'account_exists_sign_in_to_link'
  | 'email_not_verified'
  | 'identity_in_use'
  | 'last_sign_in_method'
  | 'invalid_id_token'
  | 'identity_provider_unavailable'
  // email/flows.ts: a reset or verification code that is wrong, expired, used or dead.
  | 'invalid_code'

/** The RFC 6749 §5.2 body of an error answer. */
export const errorBody = (error: HttpErrorCode, description: string) => ({ error, error_description: description })

/**
 * Every error the API answers with: RFC 6749 §5.2 shape `{error, error_description}` and a 4xx
 * status (5xx only for real server faults, with a generic message).
 */
export class HttpError extends Error {
  override name = 'HttpError'
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 503,
    readonly error: HttpErrorCode,
    readonly description: string,
    readonly headers: Record<string, string> = {},
    /** More members of the body (a machine-readable `reason`); never tokens or secrets. */
    readonly extra: Record<string, string> = {},
  ) {
    super(description)
  }
}

export const invalidRequest = (description: string) => new HttpError(400, 'invalid_request', description)
export const invalidGrant = (description = 'the refresh token is invalid, expired or revoked') => new HttpError(400, 'invalid_grant', description)

/**
 * RFC 8707 §2: the `resource` of a token request is unknown, malformed, or given more than once
 * (this server issues one audience per access token).
 */
export const invalidTarget = (description: string) => new HttpError(400, 'invalid_target', description)

/**
 * RFC 6750 §3: 401 with a WWW-Authenticate challenge. The one builder of bearer challenges: the
 * auth server's protected endpoints and the resource helper (`requireAccessToken`) both use it.
 */
export const invalidToken = (description = 'the access token is missing, invalid or expired') =>
  new HttpError(401, 'invalid_token', description, {
    'WWW-Authenticate': `Bearer error="invalid_token", error_description="${description.replace(/["\\]/g, '')}"`,
  })

/**
 * RFC 6750 §3.1: a request that carries no access token at all gets the bare challenge, with no
 * error code in it (the body still says what is missing).
 */
export const missingToken = (description = 'an access token is required') => new HttpError(401, 'invalid_token', description, { 'WWW-Authenticate': 'Bearer' })

/** The response for an HttpError: its status and headers, and the RFC 6749 §5.2 body `{error, error_description}`. */
export function errorResponse(c: Context, err: HttpError): Response {
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v)
  return c.json({ error: err.error, error_description: err.description, ...err.extra }, err.status)
}

/**
 * The client stopped sending its request body (it aborted, or its connection reset or broke
 * mid-body). A client error (400; the client is usually gone and never reads it), logged at info,
 * not as a server fault.
 */
export class ClientAbortError extends HttpError {
  override name = 'ClientAbortError'
  constructor(cause: unknown) {
    super(400, 'invalid_request', 'the request body ended before it was complete')
    this.cause = cause
  }
}

const CLIENT_GONE = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE', 'ABORT_ERR'])

/**
 * Whether an error from reading a request body means the client went away or broke the message
 * (Node: `aborted` / ECONNRESET, a premature close, an HTTP parser error mid-body). Anything else
 * is not assumed to be the client's doing.
 */
export function isClientAbort(e: unknown): boolean {
  if (!(e instanceof Error)) return false
  const code = (e as { code?: unknown }).code
  if (typeof code === 'string' && (CLIENT_GONE.has(code) || code.startsWith('HPE_'))) return true
  if (e.name === 'AbortError' || /^(aborted|terminated|client connection prematurely closed\.?)$/i.test(e.message)) return true
  return e.cause !== undefined && e.cause !== e && isClientAbort(e.cause)
}
