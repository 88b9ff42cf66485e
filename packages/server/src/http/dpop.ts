import type { Context } from 'hono'
import type { AccessCredentials } from '../dpop/binding.js'
import type { AppEnv } from './context.js'

/**
 * The access token of a request, `Authorization: Bearer <token>` (RFC 6750 §2.1) or
 * `Authorization: DPoP <token>` (RFC 9449 §7.1), with what a DPoP check needs: the `DPoP` header,
 * the method, and the URI clients address this path by.
 */
export function accessCredentials(c: Context<AppEnv>): AccessCredentials {
  return requestCredentials(c, c.get('service').dpop.url(c.req.path))
}

/** `accessCredentials` for any Hono app (a resource server's): `url` is the request's URI as its clients address it. */
export function requestCredentials(c: Context, url: string): AccessCredentials {
  const header = c.req.header('authorization')
  const m = header ? /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header) : null
  const scheme = m?.[1]?.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer'
  return { token: m?.[2], scheme, proof: c.req.header('dpop'), method: c.req.method, url }
}

/** The thumbprint of a token request's valid DPoP proof (undefined without one); refuses a bad one (400). */
export function tokenRequestProof(c: Context<AppEnv>): Promise<string | undefined> {
  return c.get('service').dpop.tokenRequestProof(c.req.header('dpop'), c.req.method, c.req.path)
}

/** RFC 9449 §8.2: a fresh nonce on token-endpoint answers, so DPoP clients keep one in hand. */
export function sendDpopNonce(c: Context<AppEnv>): void {
  c.header('DPoP-Nonce', c.get('service').dpop.nonce())
}
