// Issue 12, server half: DPoP (RFC 9449) against a real server on loopback, PGlite and PostgreSQL,
// proofs made with jose. A session signed in with a proof is bound to its key; its tokens are
// refused without a proof by that key (never revoking the session for it), and its previous
// refresh token with a proof by that key gets the current pair at any time.
import { SignJWT, decodeJwt } from 'jose'
import { describe, expect, test } from 'vitest'
import { accessTokenHash } from './dpop/proof.js'
import { countAuditEvents } from './store/audit.js'
import { testBackends } from './test-support/databases.js'
import { DpopKey, unsignedJwt } from './test-support/dpop.js'
import { PASSWORD, TestClock, serverForSuite, sidOf, signUp, uniqueEmail, type Pair } from './test-support/server.js'

const GRACE = 10

describe.each(testBackends())('DPoP on $name', (backend) => {
  const clock = new TestClock()
  const suite = serverForSuite(backend, { now: clock.now, rateLimit: false, refreshGrace: GRACE })
  const base = () => suite.server.url
  const htu = (path: string) => `${suite.server.issuer}${path}`
  /** A valid nonce of the server right now (the bad-proof table wants every other check to pass). */
  const nonce = () => suite.server.service.dpop.nonce()
  const sessionRow = (sid: string) => suite.server.db.selectFrom('sessions').selectAll().where('id', '=', sid).executeTakeFirstOrThrow()

  /** POST with a DPoP proof made by `proofFor(nonce)`, doing the nonce dance (RFC 9449 §8): once more with the server's nonce. */
  async function dpopPost(path: string, body: Record<string, string>, proofFor: (nonce: string | undefined) => Promise<string>, knownNonce?: string) {
    const send = async (n: string | undefined) =>
      fetch(`${base()}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await proofFor(n) },
        body: new URLSearchParams(body).toString(),
      })
    let res = await send(knownNonce)
    if (res.status === 400 && res.headers.get('dpop-nonce')) {
      const b = (await res.clone().json()) as { error: string }
      if (b.error === 'use_dpop_nonce') res = await send(res.headers.get('dpop-nonce')!)
    }
    return res
  }

  const signInBound = async (key: DpopKey, email?: string) => {
    const e = email ?? (await signUp(base())).email
    const res = await dpopPost('/auth/sign-in', { email: e, password: PASSWORD, device: 'phone' }, (n) => key.proof('POST', htu('/auth/sign-in'), clock.now(), { nonce: n }))
    expect(res.status).toBe(200)
    return (await res.json()) as Pair
  }

  const refreshWith = (refreshToken: string, key: DpopKey | undefined, o: Parameters<DpopKey['proof']>[3] = {}) =>
    dpopPost('/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, (n) =>
      key ? key.proof('POST', htu('/oauth/token'), clock.now(), { nonce: n, ...o }) : Promise.resolve(''),
    )

  const refreshRaw = (refreshToken: string, headers: Record<string, string> | Headers) =>
    fetch(`${base()}/oauth/token`, { method: 'POST', headers, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString() })

  const meWith = async (accessToken: string, key: DpopKey, o: Parameters<DpopKey['proof']>[3] = {}) =>
    fetch(`${base()}/me`, { headers: { authorization: `DPoP ${accessToken}`, dpop: await key.proof('GET', htu('/me'), clock.now(), { accessToken, ...o }) } })

  test('sign-in with a proof binds the session: token_type DPoP, cnf.jkt, the row; /me and the session list with DPoP; refresh rotates', async () => {
    const key = await DpopKey.create()
    const pair = await signInBound(key)
    expect(pair.token_type).toBe('DPoP')
    expect(decodeJwt(pair.access_token).cnf).toEqual({ jkt: key.jkt })
    expect((await sessionRow(sidOf(pair.access_token))).dpop_jkt).toBe(key.jkt)
    const me = await meWith(pair.access_token, key)
    expect(me.status).toBe(200)
    const sessions = await fetch(`${base()}/auth/sessions`, {
      headers: { authorization: `DPoP ${pair.access_token}`, dpop: await key.proof('GET', htu('/auth/sessions'), clock.now(), { accessToken: pair.access_token }) },
    })
    expect(sessions.status).toBe(200)
    const next = await refreshWith(pair.refresh_token, key)
    expect(next.status).toBe(200)
    expect(next.headers.get('dpop-nonce')).toBeTruthy()
    const p1 = (await next.json()) as Pair
    expect(p1.token_type).toBe('DPoP')
    expect(p1.refresh_token).not.toBe(pair.refresh_token)
    expect(decodeJwt(p1.access_token).cnf).toEqual({ jkt: key.jkt })
  })

  test('EdDSA keys work too; sign-up with a proof binds as sign-in does', async () => {
    const key = await DpopKey.create('EdDSA')
    const res = await dpopPost('/auth/sign-up', { email: uniqueEmail(), password: PASSWORD }, (n) => key.proof('POST', htu('/auth/sign-up'), clock.now(), { nonce: n }))
    expect(res.status).toBe(201)
    const pair = (await res.json()) as Pair
    expect(pair.token_type).toBe('DPoP')
    expect((await meWith(pair.access_token, key)).status).toBe(200)
  })

  test('the nonce dance: a proof without a nonce gets 400 use_dpop_nonce and a DPoP-Nonce; a stale nonce too; nothing is created', async () => {
    const key = await DpopKey.create()
    const { email } = await signUp(base())
    const first = await fetch(`${base()}/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', dpop: await key.proof('POST', htu('/auth/sign-in'), clock.now()) },
      body: JSON.stringify({ email, password: PASSWORD }),
    })
    expect(first.status).toBe(400)
    expect(await first.json()).toMatchObject({ error: 'use_dpop_nonce' })
    const given = first.headers.get('dpop-nonce')!
    expect(given).toMatch(/^[!#-[\]-~]+$/) // NQCHAR (RFC 9449 §8.1)
    clock.advance(3 * 60) // three nonce steps later: no longer accepted
    const stale = await fetch(`${base()}/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', dpop: await key.proof('POST', htu('/auth/sign-in'), clock.now(), { nonce: given }) },
      body: JSON.stringify({ email, password: PASSWORD }),
    })
    expect(stale.status).toBe(400)
    expect(await stale.json()).toMatchObject({ error: 'use_dpop_nonce' })
    const count = await suite.server.db.selectFrom('sessions').select((eb) => eb.fn.countAll().as('n')).where('dpop_jkt', '=', key.jkt).executeTakeFirstOrThrow()
    expect(Number(count.n)).toBe(0)
  })

  test('unbound (bearer) sessions are unchanged: token_type Bearer, no cnf, the grace window as before', async () => {
    const p0 = await signUp(base())
    expect(p0.token_type).toBe('Bearer')
    expect(decodeJwt(p0.access_token).cnf).toBeUndefined()
    const r1 = await refreshRaw(p0.refresh_token, { 'content-type': 'application/x-www-form-urlencoded' })
    expect(r1.status).toBe(200)
    const p1 = (await r1.json()) as Pair
    expect(p1.token_type).toBe('Bearer')
    clock.advance(GRACE + 1)
    const late = await refreshRaw(p0.refresh_token, { 'content-type': 'application/x-www-form-urlencoded' })
    expect(await late.json()).toMatchObject({ error: 'invalid_grant' })
    expect((await sessionRow(sidOf(p0.access_token))).revoke_reason).toBe('reuse')
  })

  test('the lost answer: the previous token with a proof by the bound key gets the current pair 1 minute, 1 hour and 1 day later; another key gets nothing and the session survives', async () => {
    const key = await DpopKey.create()
    let current = await signInBound(key)
    const sid = sidOf(current.access_token)
    for (const seconds of [60, 3600, 86_400]) {
      // The rotation happens; its answer is lost.
      const lost = await refreshWith(current.refresh_token, key)
      expect(lost.status).toBe(200)
      const lostPair = (await lost.json()) as Pair
      clock.advance(seconds)
      const retry = await refreshWith(current.refresh_token, key)
      expect(retry.status, `retry after ${seconds} s`).toBe(200)
      const got = (await retry.json()) as Pair
      expect(got.refresh_token).toBe(lostPair.refresh_token)
      expect(got.token_type).toBe('DPoP')
      // A thief with the previous token and its own key: refused, audited, nothing revoked.
      const thief = await DpopKey.create()
      const stolen = await refreshWith(current.refresh_token, thief)
      expect(stolen.status).toBe(400)
      expect(await stolen.json()).toMatchObject({ error: 'invalid_dpop_proof' })
      expect((await sessionRow(sid)).revoked_at).toBeNull()
      current = got
    }
    expect(await countAuditEvents(suite.server.db, 'refresh_grace', { sessionId: sid })).toBe(3)
    expect(await countAuditEvents(suite.server.db, 'dpop_proof_refused', { sessionId: sid })).toBe(3)
    // The session goes on.
    const after = await refreshWith(current.refresh_token, key)
    expect(after.status).toBe(200)
  })

  test('a bound token from before the previous one, with a proof by the bound key, is reuse: the session is revoked', async () => {
    const key = await DpopKey.create()
    const p0 = await signInBound(key)
    const p1 = (await (await refreshWith(p0.refresh_token, key)).json()) as Pair
    const p2 = await refreshWith(p1.refresh_token, key)
    expect(p2.status).toBe(200)
    const old = await refreshWith(p0.refresh_token, key)
    expect(await old.json()).toMatchObject({ error: 'invalid_grant' })
    expect((await sessionRow(sidOf(p0.access_token))).revoke_reason).toBe('reuse')
  })

  test('a bound refresh token cannot be revoked (RFC 7009) without a proof by its key', async () => {
    const key = await DpopKey.create()
    const p = await signInBound(key)
    const res = await fetch(`${base()}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${p.refresh_token}` })
    expect(res.status).toBe(200)
    expect((await sessionRow(sidOf(p.access_token))).revoked_at).toBeNull()
    const withProof = await dpopPost('/oauth/revoke', { token: p.refresh_token }, (n) => key.proof('POST', htu('/oauth/revoke'), clock.now(), { nonce: n }))
    expect(withProof.status).toBe(200)
    expect((await sessionRow(sidOf(p.access_token))).revoke_reason).toBe('revoked')
  })

  test('used jtis are kept while their proofs could pass and pruned by the retention job after', async () => {
    const key = await DpopKey.create()
    const p = await signInBound(key)
    const proof = await key.proof('GET', htu('/me'), clock.now(), { accessToken: p.access_token })
    const me = () => fetch(`${base()}/me`, { headers: { authorization: `DPoP ${p.access_token}`, dpop: proof } })
    expect((await me()).status).toBe(200)
    await suite.server.service.prune()
    expect((await me()).status).toBe(401) // still remembered after a prune inside its window
    clock.advance(2 * 60)
    expect((await suite.server.service.prune()).dpopProofs).toBeGreaterThanOrEqual(2)
    const left = await suite.server.db.selectFrom('dpop_proofs').select('expires_at').where('expires_at', '<', clock.now()).execute()
    expect(left).toEqual([])
  })

  test('one proof sent 10 times at once: exactly one request passes (the jti insert decides, not a read)', async () => {
    const key = await DpopKey.create()
    const p = await signInBound(key)
    const proof = await key.proof('GET', htu('/me'), clock.now(), { accessToken: p.access_token })
    const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${base()}/me`, { headers: { authorization: `DPoP ${p.access_token}`, dpop: proof } })))
    const statuses = answers.map((r) => r.status).sort()
    expect(statuses).toEqual([200, ...Array<number>(9).fill(401)])
  })

  test('metadata: dpop_signing_alg_values_supported', async () => {
    const m = (await (await fetch(`${base()}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
    expect(m.dpop_signing_alg_values_supported).toEqual(['ES256', 'EdDSA'])
  })

  describe('bad proofs: 400/401 with the RFC 9449 error codes, never a 5xx, none revoking the session', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' }
    type Ctx = { key: DpopKey; pair: Pair; other: DpopKey }
    type Case = {
      name: string
      /** Sends the bad request for the bound session in `ctx`. */
      send: (ctx: Ctx) => Promise<Response>
      status: 400 | 401
      error: string
    }
    const tokenProof = (ctx: Ctx, o: Parameters<DpopKey['proof']>[3] = {}, key = ctx.key) =>
      key.proof('POST', htu('/oauth/token'), clock.now(), { nonce: nonce(), ...o })
    const refreshWithProof = async (ctx: Ctx, proof: string | Promise<string>) => refreshRaw(ctx.pair.refresh_token, { ...form, dpop: await proof })
    const meRaw = async (authorization: string, dpop?: string | Promise<string>) =>
      fetch(`${base()}/me`, { headers: { authorization, ...(dpop === undefined ? {} : { dpop: await dpop }) } })
    const meProof = (ctx: Ctx, o: Parameters<DpopKey['proof']>[3] = {}, key = ctx.key) => key.proof('GET', htu('/me'), clock.now(), { accessToken: ctx.pair.access_token, ...o })
    const hs256 = async () => new SignJWT({ htm: 'POST', htu: htu('/oauth/token'), iat: Math.floor(clock.now().getTime() / 1000), jti: 'x', nonce: nonce() })
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } } as never)
      .sign(new TextEncoder().encode('secret-secret-secret-secret-secret'))

    const cases: Case[] = [
      { name: 'bound refresh with no DPoP header', send: (ctx) => refreshRaw(ctx.pair.refresh_token, form), status: 400, error: 'invalid_dpop_proof' },
      {
        name: 'two DPoP headers',
        send: async (ctx) => {
          const h = new Headers(form)
          h.append('dpop', await tokenProof(ctx))
          h.append('dpop', await tokenProof(ctx))
          return refreshRaw(ctx.pair.refresh_token, h)
        },
        status: 400,
        error: 'invalid_dpop_proof',
      },
      { name: 'not a JWT', send: (ctx) => refreshWithProof(ctx, 'not-a-jwt'), status: 400, error: 'invalid_dpop_proof' },
      { name: 'malformed JWT (garbage segments)', send: (ctx) => refreshWithProof(ctx, 'eyJhbGciOi.e30.AAAA'), status: 400, error: 'invalid_dpop_proof' },
      { name: 'alg none', send: (ctx) => refreshWithProof(ctx, unsignedJwt({ alg: 'none', typ: 'dpop+jwt', jwk: ctx.key.jwk }, { htm: 'POST', htu: htu('/oauth/token'), iat: Math.floor(clock.now().getTime() / 1000), jti: 'n', nonce: nonce() })), status: 400, error: 'invalid_dpop_proof' },
      { name: 'HS256 (symmetric)', send: async (ctx) => refreshWithProof(ctx, hs256()), status: 400, error: 'invalid_dpop_proof' },
      {
        name: 'RS256 (not allowlisted)',
        send: async (ctx) => refreshWithProof(ctx, (await DpopKey.create('RS256')).proof('POST', htu('/oauth/token'), clock.now(), { nonce: nonce() })),
        status: 400,
        error: 'invalid_dpop_proof',
      },
      { name: 'typ JWT', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { header: { typ: 'JWT' } })), status: 400, error: 'invalid_dpop_proof' },
      { name: 'no typ', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { header: { typ: undefined } })), status: 400, error: 'invalid_dpop_proof' },
      { name: 'no jwk', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { header: { jwk: undefined } })), status: 400, error: 'invalid_dpop_proof' },
      { name: 'private key in the header', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { header: { jwk: ctx.key.privateJwk } })), status: 400, error: 'invalid_dpop_proof' },
      { name: 'jwk of another key than the signer', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { header: { jwk: ctx.other.jwk } })), status: 400, error: 'invalid_dpop_proof' },
      {
        name: 'tampered payload (bad signature)',
        send: async (ctx) => {
          const [h, , s] = (await tokenProof(ctx)).split('.')
          const body = Buffer.from(JSON.stringify({ htm: 'POST', htu: htu('/oauth/token'), iat: Math.floor(clock.now().getTime() / 1000), jti: 'tampered', nonce: nonce() })).toString('base64url')
          return refreshWithProof(ctx, `${h}.${body}.${s}`)
        },
        status: 400,
        error: 'invalid_dpop_proof',
      },
      { name: 'foreign key (valid proof by a key the session is not bound to)', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, {}, ctx.other)), status: 400, error: 'invalid_dpop_proof' },
      { name: 'wrong htm', send: (ctx) => refreshWithProof(ctx, ctx.key.proof('GET', htu('/oauth/token'), clock.now(), { nonce: nonce() })), status: 400, error: 'invalid_dpop_proof' },
      { name: 'no htm', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { claims: { htm: undefined } })), status: 400, error: 'invalid_dpop_proof' },
      { name: 'wrong htu (another endpoint)', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { claims: { htu: htu('/auth/sign-in') } })), status: 400, error: 'invalid_dpop_proof' },
      { name: 'wrong htu (another server)', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { claims: { htu: 'https://evil.example/oauth/token' } })), status: 400, error: 'invalid_dpop_proof' },
      { name: 'htu not a URI', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { claims: { htu: 12 } })), status: 400, error: 'invalid_dpop_proof' },
      { name: 'stale iat (2 minutes old)', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { claims: { iat: Math.floor(clock.now().getTime() / 1000) - 120 } })), status: 400, error: 'invalid_dpop_proof' },
      { name: 'future iat (1 minute ahead)', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { claims: { iat: Math.floor(clock.now().getTime() / 1000) + 60 } })), status: 400, error: 'invalid_dpop_proof' },
      { name: 'no iat', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { claims: { iat: undefined } })), status: 400, error: 'invalid_dpop_proof' },
      { name: 'no jti', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { claims: { jti: undefined } })), status: 400, error: 'invalid_dpop_proof' },
      {
        name: 'reused jti (a proof already spent on a refresh)',
        send: async (ctx) => {
          const proof = await tokenProof(ctx)
          const ok = await refreshWithProof(ctx, proof)
          expect(ok.status).toBe(200)
          ctx.pair = (await ok.json()) as Pair
          return refreshWithProof(ctx, proof)
        },
        status: 400,
        error: 'invalid_dpop_proof',
      },
      { name: 'no nonce', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { claims: { nonce: undefined } })), status: 400, error: 'use_dpop_nonce' },
      { name: 'wrong nonce', send: (ctx) => refreshWithProof(ctx, tokenProof(ctx, { claims: { nonce: 'abc.AAAAAAAAAAAAAAAAAAAAAA' } })), status: 400, error: 'use_dpop_nonce' },
      { name: 'bound access token as Bearer', send: (ctx) => meRaw(`Bearer ${ctx.pair.access_token}`), status: 401, error: 'invalid_token' },
      { name: 'bound access token as Bearer, with a valid proof', send: (ctx) => meRaw(`Bearer ${ctx.pair.access_token}`, meProof(ctx)), status: 401, error: 'invalid_token' },
      { name: 'DPoP scheme without a DPoP header', send: (ctx) => meRaw(`DPoP ${ctx.pair.access_token}`), status: 401, error: 'invalid_dpop_proof' },
      { name: '/me proof without ath', send: (ctx) => meRaw(`DPoP ${ctx.pair.access_token}`, meProof(ctx, { claims: { ath: undefined } })), status: 401, error: 'invalid_dpop_proof' },
      { name: '/me proof with a wrong ath', send: (ctx) => meRaw(`DPoP ${ctx.pair.access_token}`, meProof(ctx, { claims: { ath: accessTokenHash('another token') } })), status: 401, error: 'invalid_dpop_proof' },
      { name: '/me proof by a foreign key', send: (ctx) => meRaw(`DPoP ${ctx.pair.access_token}`, meProof(ctx, {}, ctx.other)), status: 401, error: 'invalid_dpop_proof' },
      { name: '/me proof for another URI', send: (ctx) => meRaw(`DPoP ${ctx.pair.access_token}`, meProof(ctx, { claims: { htu: htu('/auth/sessions') } })), status: 401, error: 'invalid_dpop_proof' },
      {
        name: '/me proof replayed (jti)',
        send: async (ctx) => {
          const proof = await meProof(ctx)
          expect((await meRaw(`DPoP ${ctx.pair.access_token}`, proof)).status).toBe(200)
          return meRaw(`DPoP ${ctx.pair.access_token}`, proof)
        },
        status: 401,
        error: 'invalid_dpop_proof',
      },
      {
        name: 'session list, bound token as Bearer',
        send: (ctx) => fetch(`${base()}/auth/sessions`, { headers: { authorization: `Bearer ${ctx.pair.access_token}` } }),
        status: 401,
        error: 'invalid_token',
      },
      {
        name: 'an unbound token with the DPoP scheme and a proof',
        send: async (ctx) => {
          const bearer = await signUp(base())
          return meRaw(`DPoP ${bearer.access_token}`, ctx.key.proof('GET', htu('/me'), clock.now(), { accessToken: bearer.access_token }))
        },
        status: 401,
        error: 'invalid_token',
      },
      {
        name: 'sign-in with a proof for another endpoint',
        send: async (ctx) =>
          fetch(`${base()}/auth/sign-in`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', dpop: await tokenProof(ctx) },
            body: JSON.stringify({ email: uniqueEmail(), password: PASSWORD }),
          }),
        status: 400,
        error: 'invalid_dpop_proof',
      },
    ]

    test('the table has at least 25 cases', () => expect(cases.length).toBeGreaterThanOrEqual(25))

    // One bound session for the table: after each bad request it must still refresh (with a good proof).
    let ctx: Ctx | undefined
    let refusedBefore = 0
    test.each(cases)('$name → $status $error', async (c) => {
      if (!ctx) {
        const key = await DpopKey.create()
        ctx = { key, other: await DpopKey.create(), pair: await signInBound(key) }
      }
      const sid = sidOf(ctx.pair.access_token)
      const res = await c.send(ctx)
      expect(res.status).toBe(c.status)
      const body = (await res.json()) as { error: string }
      expect(body.error).toBe(c.error)
      if (c.status === 401) {
        expect(res.headers.get('www-authenticate')).toMatch(new RegExp(`^DPoP error="${c.error}".*algs="ES256 EdDSA"`))
      }
      if (c.error === 'use_dpop_nonce') expect(res.headers.get('dpop-nonce')).toBeTruthy()
      expect((await sessionRow(sid)).revoked_at).toBeNull()
      // A refused refresh of the bound session is audited (the nonce dance is not).
      const audited = await countAuditEvents(suite.server.db, 'dpop_proof_refused', { sessionId: sid })
      if (c.status === 400 && c.error === 'invalid_dpop_proof' && !c.name.startsWith('sign-in')) expect(audited).toBe(refusedBefore + 1)
      else expect(audited).toBe(refusedBefore)
      refusedBefore = audited
      const still = await refreshWith(ctx.pair.refresh_token, ctx.key)
      expect(still.status).toBe(200)
      ctx.pair = (await still.json()) as Pair
    })
  })
})

describe.each(testBackends())('DPoP and the session lifetimes on $name', (backend) => {
  // A one-hour idle lifetime: a lost answer is retried successfully within it, and not after.
  const clock = new TestClock()
  const suite = serverForSuite(backend, { now: clock.now, rateLimit: false, sessionIdle: 3600 })
  const htu = (path: string) => `${suite.server.issuer}${path}`
  const post = async (path: string, body: Record<string, string>, key: DpopKey, extra: Record<string, string> = {}) =>
    fetch(`${suite.server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await key.proof('POST', htu(path), clock.now(), { nonce: suite.server.service.dpop.nonce() }), ...extra },
      body: new URLSearchParams(body).toString(),
    })

  test('a retry after the idle lifetime is invalid_grant (the session ended by itself), nothing is revoked; within it the retry works and counts as use', async () => {
    const key = await DpopKey.create()
    const { email } = await signUp(suite.server.url)
    const p0 = (await (await post('/auth/sign-in', { email, password: PASSWORD }, key)).json()) as Pair
    const sid = sidOf(p0.access_token)
    expect((await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: p0.refresh_token }, key)).status).toBe(200) // answer lost
    clock.advance(3000)
    expect((await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: p0.refresh_token }, key)).status).toBe(200)
    // The retry was a use of the session: 1000 s later (4000 s after the rotation) it still refreshes.
    clock.advance(1000)
    const renewed = await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: p0.refresh_token }, key)
    expect(renewed.status).toBe(200)
    // A day later the session has ended by itself (idle): the retry is invalid_grant.
    clock.advance(86_400)
    const late = await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: p0.refresh_token }, key)
    expect(late.status).toBe(400)
    expect(await late.json()).toMatchObject({ error: 'invalid_grant' })
    const row = await suite.server.db.selectFrom('sessions').select(['revoked_at']).where('id', '=', sid).executeTakeFirstOrThrow()
    expect(row.revoked_at).toBeNull()
  })

  test('sign-out with a bound access token needs the DPoP scheme and a proof; with them the session ends', async () => {
    const key = await DpopKey.create()
    const { email } = await signUp(suite.server.url)
    const p = (await (await post('/auth/sign-in', { email, password: PASSWORD }, key)).json()) as Pair
    const sid = sidOf(p.access_token)
    const asBearer = await fetch(`${suite.server.url}/auth/sign-out`, { method: 'POST', headers: { authorization: `Bearer ${p.access_token}` } })
    expect(asBearer.status).toBe(401)
    const ended = () => suite.server.db.selectFrom('sessions').select(['revoked_at']).where('id', '=', sid).executeTakeFirstOrThrow()
    expect((await ended()).revoked_at).toBeNull()
    const ok = await fetch(`${suite.server.url}/auth/sign-out`, {
      method: 'POST',
      headers: { authorization: `DPoP ${p.access_token}`, dpop: await key.proof('POST', htu('/auth/sign-out'), clock.now(), { accessToken: p.access_token }) },
    })
    expect(ok.status).toBe(200)
    expect((await ended()).revoked_at).not.toBeNull()
  })
})
