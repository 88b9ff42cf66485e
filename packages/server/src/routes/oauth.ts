import { Hono } from 'hono'
import { z } from 'zod'
import { readBody, tokenParam, validate } from '../http/body.js'
import { clearRefreshCookie, refreshCookie, wantsCookie } from '../http/cookies.js'
import { tokenResponse, type AppEnv } from '../http/context.js'
import { sendDpopNonce, tokenRequestProof } from '../http/dpop.js'
import { HttpError, invalidRequest } from '../http/errors.js'
import type { AudiencePolicy } from '../resource-indicators.js'

const tokenRequest = z
  .object({
    grant_type: z.string({ error: 'is required' }).max(200, 'is too long'),
    refresh_token: tokenParam.optional(),
    client_id: z.string().max(200).optional(),
    scope: z.string().max(1000).optional(),
  })
  .loose()

const revokeRequest = z
  .object({
    token: tokenParam.optional(),
    token_type_hint: z.string().max(100).optional(),
    client_id: z.string().max(200).optional(),
  })
  .loose()

/** The OAuth 2.0 token (RFC 6749 §6, RFC 8707 `resource`) and revocation (RFC 7009) endpoints. */
export function oauthRoutes(o: { cookieMaxAge: number; audiences: AudiencePolicy }) {
  const r = new Hono<AppEnv>()

  r.post('/token', async (c) => {
    // RFC 6749 §5.1/§5.2: no caching of anything this endpoint answers, errors included.
    c.header('Cache-Control', 'no-store')
    c.header('Pragma', 'no-cache')
    if (c.req.header('dpop') !== undefined) sendDpopNonce(c)
    const raw = await readBody(c, ['form', 'json'], false, ['resource'])
    const body = validate(tokenRequest, raw)
    if (body.grant_type !== 'refresh_token') {
      throw new HttpError(400, 'unsupported_grant_type', 'only grant_type=refresh_token is supported')
    }
    const token = body.refresh_token ?? refreshCookie(c)
    if (token === undefined) throw invalidRequest('refresh_token is required')
    // RFC 8707 §2.2: the refresh token may ask for a token for any configured resource; an
    // invalid_target is answered before the refresh token is spent.
    const audience = o.audiences.audienceFor(raw.resource)
    // RFC 9449 §5: a bad proof is refused here (400), before the token is looked at: it revokes nothing.
    const proofJkt = await tokenRequestProof(c).catch(async (e: unknown) => {
      if (e instanceof HttpError && e.error === 'invalid_dpop_proof') await c.get('service').auditRefusedProof(token, c.var.ip)
      throw e
    })
    try {
      const pair = await c.get('service').refresh(token, c.var.ip, audience, proofJkt)
      return tokenResponse(c, pair, 200, o.cookieMaxAge)
    } catch (e) {
      if (e instanceof HttpError && e.error === 'invalid_grant' && wantsCookie(c)) clearRefreshCookie(c)
      throw e
    }
  })

  r.post('/revoke', async (c) => {
    const body = validate(revokeRequest, await readBody(c, ['form', 'json'], wantsCookie(c)))
    const service = c.get('service')
    const ip = c.var.ip
    const token = body.token ?? refreshCookie(c)
    if (token === undefined) {
      if (!wantsCookie(c)) throw invalidRequest('token is required')
    } else {
      // RFC 7009 §2.1: token_type_hint is only a hint; the token's own shape decides.
      await service.revoke(token, ip, await tokenRequestProof(c))
    }
    if (wantsCookie(c)) clearRefreshCookie(c)
    // §2.2: 200 whether or not the token was valid or known.
    return c.body(null, 200)
  })

  return r
}
