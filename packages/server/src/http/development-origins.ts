/**
 * CORS in local development, on by default so that `npx expo start --web` (the app on
 * http://localhost:8081) can call a server started beside it without configuration.
 *
 * Granted only when both hold: NODE_ENV is not `production`, and the server is plain-http loopback
 * (its issuer, or `http://HOST` while the issuer is unset: the same condition under which the
 * refresh cookie drops `Secure`). A deployed server, whether it sets NODE_ENV=production or an
 * https / non-loopback LATCHKEY_ISSUER, grants nothing it was not told to. Setting
 * LATCHKEY_CORS_ORIGINS replaces this list. The origins are exact (no wildcard), as the Fetch
 * standard requires with credentials (CORS protocol, `Access-Control-Allow-Origin` must not be `*`
 * when credentials are included; OWASP HTML5 Security Cheat Sheet, CORS: allow-list origins).
 */
export const EXPO_DEV_SERVER_ORIGINS: readonly string[] = ['http://localhost:8081', 'http://127.0.0.1:8081']

/** `localhost`, `*.localhost`, `[::1]`, `127.x.x.x`. */
export const isLoopbackHostname = (hostname: string): boolean =>
  hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname)

/** The CORS origins a server gets when none are configured. */
export function defaultCorsOrigins(input: { production: boolean; issuer: string | undefined; host: string }): string[] {
  if (input.production) return []
  let url: URL
  try {
    url = new URL(input.issuer ?? `http://${input.host.includes(':') ? `[${input.host}]` : input.host}`)
  } catch {
    return []
  }
  return url.protocol === 'http:' && isLoopbackHostname(url.hostname) ? [...EXPO_DEV_SERVER_ORIGINS] : []
}
