import { HttpError } from '../http/errors.js'

/**
 * RFC 6750 §3.1 `insufficient_scope`: "The request requires higher privileges than provided by the
 * access token. The resource server SHOULD respond with the HTTP 403 (Forbidden) status code".
 * The challenge names what is missing; role names are [a-z0-9_-] only, so nothing needs escaping.
 */
export const insufficientRole = (roles: readonly string[]) =>
  new HttpError(403, 'insufficient_scope', `this requires the role ${roles.join(' and ')}`, {
    'WWW-Authenticate': `Bearer error="insufficient_scope", error_description="requires the role ${roles.join(' and ')}"`,
  })
