import type { Context, MiddlewareHandler } from 'hono'
import type { AuthenticateOptions, AuthService, Caller, TokenResponse } from '../service.js'
import { setRefreshCookie, wantsCookie } from './cookies.js'
import { accessCredentials } from './dpop.js'

export interface AppEnv {
  Variables: {
    service: AuthService
    caller: Caller
  }
}

/**
 * Requires `Authorization: Bearer <access token>` (RFC 6750 §2.1), or `DPoP <access token>` with a
 * proof for a DPoP-bound token (RFC 9449 §7.1); sets `caller`. Routes that end
 * sessions pass `{ live: true }`: an ended session's token must not end the others.
 */
export function requireCaller(opts: AuthenticateOptions = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const service = c.get('service')
    c.set('caller', await service.authenticate(accessCredentials(c), opts))
    await next()
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header)
  return m?.[1]
}

/**
 * Sends a token response (RFC 6749 §5.1) with `Cache-Control: no-store` and `Pragma: no-cache`.
 * In cookie mode the refresh token goes into the httpOnly cookie instead of the body.
 */
export function tokenResponse(c: Context, body: TokenResponse, status: 200 | 201, cookieMaxAge: number): Response {
  c.header('Cache-Control', 'no-store')
  c.header('Pragma', 'no-cache')
  if (wantsCookie(c)) {
    setRefreshCookie(c, body.refresh_token, cookieMaxAge)
    const { refresh_token: _omitted, ...rest } = body
    return c.json(rest, status)
  }
  return c.json(body, status)
}
