import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'

/** Header a web client sends to have the refresh token delivered (and accepted) as a cookie. */
export const TOKEN_DELIVERY_HEADER = 'X-Latchkey-Token-Delivery'
export const REFRESH_COOKIE = 'latchkey_refresh'
/** The cookie is sent only to /oauth/* (token and revocation endpoints), nowhere else. */
export const REFRESH_COOKIE_PATH = '/oauth'

/**
 * Cookie mode is on only when the request carries `X-Latchkey-Token-Delivery: cookie`. A
 * cross-site form or navigation cannot set custom headers, and a cross-origin fetch that does
 * needs a CORS preflight we don't grant: this header is the CSRF guard for the cookie (OWASP CSRF
 * Prevention Cheat Sheet, "custom request headers"), on top of SameSite=Strict.
 */
export const wantsCookie = (c: Context): boolean => c.req.header(TOKEN_DELIVERY_HEADER)?.trim().toLowerCase() === 'cookie'

/** Secure except for plain-http loopback development (browsers drop Secure cookies over http). */
function secure(c: Context): boolean {
  const url = new URL(c.req.url)
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) || url.hostname.endsWith('.localhost')
  return !(url.protocol === 'http:' && loopback)
}

export function setRefreshCookie(c: Context, token: string, maxAgeSeconds: number): void {
  // httpOnly: page scripts never see it (OWASP Session Management Cheat Sheet); SameSite=Strict.
  setCookie(c, REFRESH_COOKIE, token, { httpOnly: true, secure: secure(c), sameSite: 'Strict', path: REFRESH_COOKIE_PATH, maxAge: maxAgeSeconds })
}

export function clearRefreshCookie(c: Context): void {
  deleteCookie(c, REFRESH_COOKIE, { httpOnly: true, secure: secure(c), sameSite: 'Strict', path: REFRESH_COOKIE_PATH })
}

/** The refresh cookie, only when the delivery header is present. */
export function refreshCookie(c: Context): string | undefined {
  if (!wantsCookie(c)) return undefined
  const v = getCookie(c, REFRESH_COOKIE)
  return v === undefined || v === '' ? undefined : v
}
