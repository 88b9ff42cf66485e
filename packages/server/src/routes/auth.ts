import { Hono, type Context } from 'hono'
import { readBody, validate, credentialsSchema, tokenParam } from '../http/body.js'
import { clearRefreshCookie, refreshCookie, wantsCookie } from '../http/cookies.js'
import { requireCaller, tokenResponse, type AppEnv } from '../http/context.js'
import { accessCredentials, sendDpopNonce, tokenRequestProof } from '../http/dpop.js'
import { invalidToken } from '../http/errors.js'
import type { AudiencePolicy } from '../resource-indicators.js'
import { z } from 'zod'

export interface AuthRouteOptions {
  cookieMaxAge: number
  audiences: AudiencePolicy
}

/** Sign-up, sign-in, sign-out (one, others, all). */
export function authRoutes(o: AuthRouteOptions) {
  const r = new Hono<AppEnv>()

  /**
   * Sign-up and sign-in bodies: the credentials, and an optional RFC 8707 `resource` naming the
   * API the first access token is for (checked before the service runs: a bad one creates no
   * account and costs no password check).
   */
  const credentials = async (c: Context) => {
    const raw = await readBody(c, ['json', 'form'], false, ['resource'])
    const body = validate(credentialsSchema, raw)
    return { ...body, audience: o.audiences.audienceFor(raw.resource) }
  }

  // Sign-up and sign-in hand the service the address block (an IPv6 client's /64): it keys the
  // per-IP limit on it, and audits it.
  // RFC 9449 §5: with a valid `DPoP` proof the new session is bound to its key (checked before
  // the body and the password: a bad proof costs no hash).
  r.post('/sign-up', async (c) => {
    if (c.req.header('dpop') !== undefined) sendDpopNonce(c)
    const dpopJkt = await tokenRequestProof(c)
    const pair = await c.get('service').signUp({ ...(await credentials(c)), ip: c.var.ipBlock, dpopJkt })
    return tokenResponse(c, pair, 201, o.cookieMaxAge)
  })

  r.post('/sign-in', async (c) => {
    if (c.req.header('dpop') !== undefined) sendDpopNonce(c)
    const dpopJkt = await tokenRequestProof(c)
    const pair = await c.get('service').signIn({ ...(await credentials(c)), ip: c.var.ipBlock, dpopJkt })
    return tokenResponse(c, pair, 200, o.cookieMaxAge)
  })

  /**
   * Ends this session. Identified by the access token (`Authorization: Bearer`, even one whose
   * session already ended, so sign-out is idempotent) or by a refresh token in the body; in cookie
   * mode the refresh cookie is cleared as well.
   */
  r.post('/sign-out', async (c) => {
    const service = c.get('service')
    const ip = c.var.ip
    const body = validate(z.object({ refresh_token: tokenParam.optional() }).loose(), await readBody(c, ['json', 'form'], true))
    const access = accessCredentials(c)
    const refresh = body.refresh_token ?? refreshCookie(c)
    if (access.token) {
      await service.signOut(await service.authenticate(access, { allowSignedOut: true }), ip)
    } else if (refresh) {
      await service.revokeRefreshToken(refresh, ip, await tokenRequestProof(c))
    } else {
      throw invalidToken('sign-out needs the access token (Authorization: Bearer) or the refresh token')
    }
    if (wantsCookie(c)) clearRefreshCookie(c)
    return c.json({ ok: true })
  })

  // Ending other sessions needs a live session of one's own, whatever `checkSessionOnAccess` says:
  // a token of a session that was signed out (or revoked for reuse) must not sign out the account's
  // live sessions (OWASP ASVS 5.0 V7.4.1). Signing out one's own session above stays idempotent.
  r.post('/sign-out-others', requireCaller({ live: true }), async (c) => {
    const count = await c.get('service').signOutMany(c.get('caller'), 'others', c.var.ip)
    return c.json({ ok: true, signedOut: count })
  })

  r.post('/sign-out-all', requireCaller({ live: true }), async (c) => {
    const count = await c.get('service').signOutMany(c.get('caller'), 'all', c.var.ip)
    if (wantsCookie(c)) clearRefreshCookie(c)
    return c.json({ ok: true, signedOut: count })
  })

  return r
}
