import { Hono } from 'hono'
import { z } from 'zod'
import { deviceSchema, readBody, validate } from '../http/body.js'
import { sendDpopNonce, tokenRequestProof } from '../http/dpop.js'
import { requireCaller, tokenResponse, type AppEnv } from '../http/context.js'
import { HttpError } from '../http/errors.js'
import type { AudiencePolicy } from '../resource-indicators.js'
import { deleteAccountWithIdToken, linkIdentity, listIdentities, signInWithIdToken, unlinkIdentity, type ProviderTokens } from './accounts.js'
import { clearRefreshCookie, wantsCookie } from '../http/cookies.js'
import type { IdTokenVerifier } from './verify.js'

export interface IdentityRouteOptions {
  cookieMaxAge: number
  audiences: AudiencePolicy
  verifier: IdTokenVerifier
  /** Sign in with Apple's code exchange and token revocation, when configured. */
  providerTokens?: ProviderTokens | undefined
}

// Lengths are checked by the verifier (400 for an oversized token): here only the shape.
const idTokenBody = z.object(
  {
    id_token: z.string({ error: 'id_token must be a string' }),
    nonce: z.string({ error: 'nonce must be the raw nonce the app generated' }),
    // Sign in with Apple's one-time code (identity/apple-tokens.ts); checked there.
    authorization_code: z.string({ error: 'authorization_code must be a string' }).optional(),
  },
  { error: 'must be an object' },
)
const signInBody = idTokenBody.extend({ name: z.string().max(200, 'name must be at most 200 characters').optional(), device: deviceSchema }).loose()

/**
 * Sign-in with an identity provider's ID token (identity/), and the account's identities.
 * POST /auth/id-token {id_token, nonce, name?, device?, resource?} → the token pair (201 when the
 * account was created, 200 otherwise), as POST /auth/sign-in.
 * GET /auth/identities, POST /auth/identities {id_token, nonce} (link), DELETE /auth/identities/:id.
 */
export function identityRoutes(o: IdentityRouteOptions) {
  const r = new Hono<AppEnv>()
  const noProviders = () => new HttpError(404, 'not_found', 'no identity provider is configured')

  // The providers this server accepts ID tokens from, so an app can show their buttons and start
  // their flow (issuer for discovery, the public client ids, how the nonce is carried). Public facts.
  r.get('/providers', (c) => {
    c.header('Cache-Control', 'public, max-age=300')
    return c.json({ providers: o.verifier.providers.map((p) => ({ name: p.name, issuer: p.issuer, client_ids: p.clientIds, nonce: p.nonce })) })
  })

  r.post('/id-token', async (c) => {
    if (o.verifier.providers.length === 0) throw noProviders()
    // RFC 9449 §5, as password sign-in: with a valid `DPoP` proof the new session is bound to its key.
    if (c.req.header('dpop') !== undefined) sendDpopNonce(c)
    const dpopJkt = await tokenRequestProof(c)
    const raw = await readBody(c, ['json', 'form'], false, ['resource'])
    const body = validate(signInBody, raw)
    const { pair, created } = await signInWithIdToken(c.get('service'), o.verifier, {
      dpopJkt,
      idToken: body.id_token,
      nonce: body.nonce,
      name: body.name,
      device: body.device ?? null,
      ip: c.var.ipBlock,
      audience: o.audiences.audienceFor(raw.resource),
      authorizationCode: body.authorization_code,
      providerTokens: o.providerTokens,
    })
    return tokenResponse(c, pair, created ? 201 : 200, o.cookieMaxAge)
  })

  // Linking and unlinking need a live session of the account (OWASP ASVS 5.0 V7.4.1 as sign-out-others).
  r.get('/identities', requireCaller({ live: true }), async (c) => {
    c.header('Cache-Control', 'no-store')
    return c.json({ identities: await listIdentities(c.get('service').o.db, c.get('caller').userId) })
  })

  r.post('/identities', requireCaller({ live: true }), async (c) => {
    if (o.verifier.providers.length === 0) throw noProviders()
    const body = validate(idTokenBody.loose(), await readBody(c, ['json', 'form']))
    const identity = await linkIdentity(c.get('service'), o.verifier, c.get('caller'), { idToken: body.id_token, nonce: body.nonce, ip: c.var.ipBlock, authorizationCode: body.authorization_code, providerTokens: o.providerTokens })
    return c.json({ identity }, 201)
  })

  r.delete('/identities/:id', requireCaller({ live: true }), async (c) => {
    const id = c.req.param('id')
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new HttpError(404, 'not_found', 'no such identity on this account')
    await unlinkIdentity(c.get('service'), c.get('caller'), id, c.var.ipBlock, o.providerTokens)
    return c.json({ ok: true })
  })
  // Deletion of an account made by a provider (no password): a fresh ID token of its own identity.
  r.post('/delete-account/id-token', requireCaller({ live: true }), async (c) => {
    if (o.verifier.providers.length === 0) throw noProviders()
    const body = validate(idTokenBody.loose(), await readBody(c, ['json', 'form']))
    const result = await deleteAccountWithIdToken(c.get('service'), o.verifier, c.get('caller'), { idToken: body.id_token, nonce: body.nonce, ip: c.var.ipBlock })
    if (wantsCookie(c)) clearRefreshCookie(c)
    return c.json({ ok: true, deleted: true, ...result })
  })
  return r
}
