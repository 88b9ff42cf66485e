import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { isLoopbackHostname } from './development-origins.js'

/** Header a web client sends to have the refresh token delivered (and accepted) as a cookie. */
export const TOKEN_DELIVERY_HEADER = 'X-Latchkey-Token-Delivery'

/** The refresh cookie's name and attributes, decided once from the issuer (`refreshCookiePolicy`). */
export interface RefreshCookiePolicy {
  name: string
  path: string
  secure: boolean
}

declare module 'hono' {
  interface ContextVariableMap {
    refreshCookie: RefreshCookiePolicy
  }
}

const BASE_NAME = 'latchkey_refresh'

/**
 * The cookie's name and path before the prefixes (always plain, `Path=/oauth`, Secure decided
 * from the Host header). Still read, and cleared, for one release, so web users signed in before
 * the rename stay signed in; drop it in the release after.
 */
export const LEGACY_REFRESH_COOKIE = { name: BASE_NAME, path: '/oauth' } as const

const isLoopback = isLoopbackHostname

/**
 * Decided from the configured issuer, the URL the browser actually uses, never from the request:
 * behind a proxy the Host header is whatever the proxy sends (nginx's default `proxy_set_header
 * Host $proxy_host` makes every request look like loopback), and the cookie lost Secure there.
 *
 * - https issuer at the root of its origin: `__Host-latchkey_refresh`, Secure, `Path=/`, no
 *   Domain (RFC 6265bis §4.1.3.2). The prefix makes the browser refuse the cookie from any other
 *   host and without Secure, so a sibling subdomain or a plain-http response cannot plant or
 *   overwrite it (cookie tossing: a planted refresh token signs the victim into the attacker's
 *   account). The price is `Path=/` instead of `/oauth`: the browser now also sends the cookie to
 *   the origin's other paths. That is the better trade: Path was never an isolation boundary
 *   (RFC 6265bis §8.5; any page of the origin can fetch /oauth), the cookie stays httpOnly and
 *   SameSite=Strict, and the server reads it only on its token, revocation and sign-out
 *   endpoints, only with the delivery header. The origin is the auth server's own (the issuer
 *   has no path), so no other application receives it.
 * - https issuer with a path (`https://example.com/auth`): the origin is shared with other
 *   applications, so `Path=/` would hand the refresh token to them: `__Secure-latchkey_refresh`
 *   (§4.1.3.1) with `Path=<issuer path>/oauth`, the token and revocation endpoints.
 * - plain-http loopback issuer (local development): browsers drop Secure cookies over http, and
 *   both prefixes require Secure: `latchkey_refresh`, `Path=/oauth`, not Secure.
 * - plain http anywhere else: Secure all the same (as before), which browsers refuse over http;
 *   serve it over https.
 */
export function refreshCookiePolicy(issuer: string): RefreshCookiePolicy {
  const url = new URL(issuer)
  const base = url.pathname.replace(/\/+$/, '')
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return { name: BASE_NAME, path: `${base}/oauth`, secure: false }
  if (base === '') return { name: `__Host-${BASE_NAME}`, path: '/', secure: true }
  return { name: `__Secure-${BASE_NAME}`, path: `${base}/oauth`, secure: true }
}

/**
 * Cookie mode is on only when the request carries `X-Latchkey-Token-Delivery: cookie`. A
 * cross-site form or navigation cannot set custom headers, and a cross-origin fetch that does
 * needs a CORS preflight we don't grant: this header is the CSRF guard for the cookie (OWASP CSRF
 * Prevention Cheat Sheet, "custom request headers"), on top of SameSite=Strict.
 */
export const wantsCookie = (c: Context): boolean => c.req.header(TOKEN_DELIVERY_HEADER)?.trim().toLowerCase() === 'cookie'

const hasLegacy = (policy: RefreshCookiePolicy) => policy.name !== LEGACY_REFRESH_COOKIE.name || policy.path !== LEGACY_REFRESH_COOKIE.path

function clearLegacy(c: Context, policy: RefreshCookiePolicy): void {
  deleteCookie(c, LEGACY_REFRESH_COOKIE.name, { httpOnly: true, secure: policy.secure, sameSite: 'Strict', path: LEGACY_REFRESH_COOKIE.path })
}

export function setRefreshCookie(c: Context, token: string, maxAgeSeconds: number): void {
  const policy = c.get('refreshCookie')
  // httpOnly: page scripts never see it (OWASP Session Management Cheat Sheet); SameSite=Strict.
  setCookie(c, policy.name, token, { httpOnly: true, secure: policy.secure, sameSite: 'Strict', path: policy.path, maxAge: maxAgeSeconds })
  // The request still carried the old cookie: it has been replaced.
  if (hasLegacy(policy) && getCookie(c, LEGACY_REFRESH_COOKIE.name) !== undefined) clearLegacy(c, policy)
}

export function clearRefreshCookie(c: Context): void {
  const policy = c.get('refreshCookie')
  deleteCookie(c, policy.name, { httpOnly: true, secure: policy.secure, sameSite: 'Strict', path: policy.path })
  // Always: the old cookie's Path=/oauth keeps it from requests to /auth/sign-out, where it cannot be seen.
  if (hasLegacy(policy)) clearLegacy(c, policy)
}

/** The refresh cookie (or, for one release, the old one), only when the delivery header is present. */
export function refreshCookie(c: Context): string | undefined {
  if (!wantsCookie(c)) return undefined
  const policy = c.get('refreshCookie')
  for (const name of hasLegacy(policy) ? [policy.name, LEGACY_REFRESH_COOKIE.name] : [policy.name]) {
    const v = getCookie(c, name)
    if (v !== undefined && v !== '') return v
  }
  return undefined
}
