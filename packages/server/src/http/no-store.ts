import type { MiddlewareHandler } from 'hono'
import { setAnswerHeader } from './response-header.js'

/** Every answer under these is about the caller or carries credentials. */
const PRIVATE_PREFIXES = ['/auth', '/oauth', '/me']

const isPrivatePath = (path: string) => PRIVATE_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))

/**
 * `Cache-Control: no-store` (RFC 9111 §5.2.2.5) on every authenticated response: everything under
 * /auth, /oauth and /me, errors included, and any answer to a request that carries
 * `Authorization`. Shared caches already keep away from requests with Authorization (RFC 9111
 * §3.5), but a browser's own HTTP cache does not, and it would keep account data and session lists
 * on disk after sign-out (OWASP Session Management Cheat Sheet, "Web Content Caching").
 * Set after the handler, so no route can forget it; public documents (/.well-known, /health) keep
 * their own caching.
 */
export function noStoreWhenAuthenticated(): MiddlewareHandler {
  return async function noStore(c, next) {
    await next()
    if (isPrivatePath(c.req.path) || c.req.header('authorization') !== undefined) setAnswerHeader(c, 'Cache-Control', 'no-store')
  }
}
