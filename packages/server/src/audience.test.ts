// Security review finding 9: one access token worked at every service. `aud` was the issuer for
// every resource server, so a token sent to service A (and so readable by A) was accepted by B.
// Now a token request names its resource (RFC 8707), the token's `aud` is exactly that one, and
// each service (and the auth server's own /me) accepts only its own.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createApp, silentLogger } from './app.js'
import { ConfigError } from './config.js'
import { createAccessTokenVerifier, requireAccessToken, type AccessTokenClaims } from './resource.js'
import { countAuditEvents } from './store/audit.js'
import { testBackends } from './test-support/databases.js'
import { PASSWORD, TestClock, getMe, postForm, postJson, serverForSuite, sidOf, signUp, uniqueEmail, type Pair } from './test-support/server.js'

const ORDERS = 'https://orders.example.com'
const BILLING = 'https://billing.example.com/api'
const GRACE = 5

const audOf = (accessToken: string) => (JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { aud: unknown }).aud

describe.each(testBackends())('finding 9: each resource server gets its own audience ($name)', (backend) => {
  const clock = new TestClock()
  const suite = serverForSuite(backend, { resources: [ORDERS, BILLING], refreshGrace: GRACE, now: clock.now, rateLimit: false })

  /** A resource server (the documented Hono shape) whose audience is `audience`. */
  const service = (audience: string) =>
    new Hono<{ Variables: { accessToken: AccessTokenClaims } }>().get(
      '/r',
      requireAccessToken({ jwksUrl: `${suite.server.url}/.well-known/jwks.json`, issuer: suite.server.issuer, audience }),
      (c) => c.json({ sub: c.get('accessToken').sub }),
    )
  const call = async (api: { request: (path: string, init: RequestInit) => Response | Promise<Response> }, token: string) =>
    api.request('/r', { headers: { authorization: `Bearer ${token}` } })
  let orders: ReturnType<typeof service>
  let billing: ReturnType<typeof service>
  beforeAll(() => {
    orders = service(ORDERS)
    billing = service(BILLING)
  })

  const signUpFor = async (resource: string | undefined) => {
    const res = await postJson(suite.server.url, '/auth/sign-up', { email: uniqueEmail(), password: PASSWORD, device: 'phone', ...(resource ? { resource } : {}) })
    expect(res.status).toBe(201)
    return (await res.json()) as Pair
  }
  const refreshFor = (refreshToken: string, resource?: string) =>
    postForm(suite.server.url, '/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken, ...(resource ? { resource } : {}) })

  test('a token sent to service A is not accepted by service B, nor by the auth server’s /me', async () => {
    const forOrders = await signUpFor(ORDERS)
    expect(audOf(forOrders.access_token)).toBe(ORDERS)
    expect((await call(orders, forOrders.access_token)).status).toBe(200)
    // Orders could replay what it was sent: billing and /me refuse it.
    const atBilling = await call(billing, forOrders.access_token)
    expect(atBilling.status).toBe(401)
    expect(atBilling.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
    const atMe = await getMe(suite.server.url, forOrders.access_token)
    expect(atMe.status).toBe(401)
    expect(atMe.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)

    // The same session refreshes for billing (RFC 8707 §2.2): good at billing only.
    const forBilling = (await (await refreshFor(forOrders.refresh_token, BILLING)).json()) as Pair
    expect(audOf(forBilling.access_token)).toBe(BILLING)
    expect((await call(billing, forBilling.access_token)).status).toBe(200)
    expect((await call(orders, forBilling.access_token)).status).toBe(401)
    expect((await getMe(suite.server.url, forBilling.access_token)).status).toBe(401)
  })

  test('a token for /me (no resource) is refused by every resource server; sign-in takes a resource too', async () => {
    const own = await signUp(suite.server.url)
    expect(audOf(own.access_token)).toBe(suite.server.issuer)
    expect((await getMe(suite.server.url, own.access_token)).status).toBe(200)
    expect((await call(orders, own.access_token)).status).toBe(401)
    expect((await call(billing, own.access_token)).status).toBe(401)
    const refreshed = (await (await refreshFor(own.refresh_token)).json()) as Pair
    expect(audOf(refreshed.access_token)).toBe(suite.server.issuer)

    const signIn = await postForm(suite.server.url, '/auth/sign-in', { email: own.email, password: PASSWORD, resource: BILLING })
    expect(signIn.status).toBe(200)
    const pair = (await signIn.json()) as Pair
    expect(audOf(pair.access_token)).toBe(BILLING)
    expect((await call(billing, pair.access_token)).status).toBe(200)
    expect((await call(orders, pair.access_token)).status).toBe(401)
  })

  test('invalid_target (RFC 8707 §2) for an unknown, malformed or repeated resource; nothing is spent or created', async () => {
    const base = suite.server.url
    const pair = await signUp(base)
    const bad: Array<[string, () => Promise<Response>]> = [
      ['unknown', () => refreshFor(pair.refresh_token, 'https://unknown.example.com')],
      ['relative', () => refreshFor(pair.refresh_token, '/orders')],
      ['not a URI', () => refreshFor(pair.refresh_token, 'orders service')],
      ['with a fragment', () => refreshFor(pair.refresh_token, `${ORDERS}#x`)],
      ['empty', () => postForm(base, '/oauth/token', { grant_type: 'refresh_token', refresh_token: pair.refresh_token, resource: '' })],
      ['a prefix of a known one', () => refreshFor(pair.refresh_token, 'https://billing.example.com')],
      [
        'two in a form',
        () =>
          fetch(`${base}/oauth/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams([['grant_type', 'refresh_token'], ['refresh_token', pair.refresh_token], ['resource', ORDERS], ['resource', BILLING]]).toString(),
          }),
      ],
      ['two in JSON', () => postJson(base, '/oauth/token', { grant_type: 'refresh_token', refresh_token: pair.refresh_token, resource: [ORDERS, BILLING] })],
      ['not a string in JSON', () => postJson(base, '/oauth/token', { grant_type: 'refresh_token', refresh_token: pair.refresh_token, resource: 42 })],
    ]
    for (const [name, send] of bad) {
      const res = await send()
      expect({ name, status: res.status, body: await res.json() }).toMatchObject({ name, status: 400, body: { error: 'invalid_target' } })
    }
    // The refresh token was not spent by any of them.
    const ok = await refreshFor(pair.refresh_token, ORDERS)
    expect(ok.status).toBe(200)

    const email = uniqueEmail()
    const signUpBad = await postJson(base, '/auth/sign-up', { email, password: PASSWORD, resource: 'https://unknown.example.com' })
    expect(signUpBad.status).toBe(400)
    expect(await signUpBad.json()).toMatchObject({ error: 'invalid_target' })
    expect(await suite.server.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()).toBeUndefined()
    const signInTwo = await fetch(`${base}/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams([['email', pair.email], ['password', PASSWORD], ['resource', ORDERS], ['resource', ORDERS]]).toString(),
    })
    expect(signInTwo.status).toBe(400)
    expect(await signInTwo.json()).toMatchObject({ error: 'invalid_target' })
    // One JSON value in an array is one resource.
    const one = await postJson(base, '/auth/sign-in', { email: pair.email, password: PASSWORD, resource: [ORDERS] })
    expect(audOf(((await one.json()) as Pair).access_token)).toBe(ORDERS)
  })

  test('a refresh with a resource keeps rotation, grace and reuse detection: one session, one refresh token', async () => {
    const base = suite.server.url
    const p0 = await signUp(base)
    const sid = sidOf(p0.access_token)
    const counter = async () => (await suite.server.db.selectFrom('sessions').select('counter').where('id', '=', sid).executeTakeFirstOrThrow()).counter

    // 20 concurrent refreshes of one token for one resource: one rotation, and every answer is the
    // same new refresh token with an access token for that resource.
    const before = await counter()
    const answers = await Promise.all(Array.from({ length: 20 }, () => refreshFor(p0.refresh_token, ORDERS).then(async (r) => ({ status: r.status, body: (await r.json()) as Pair }))))
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200))
    expect(await counter()).toBe(before + 1)
    const p1 = answers[0]!.body
    expect(new Set(answers.map((a) => a.body.refresh_token))).toEqual(new Set([p1.refresh_token]))
    expect(p1.refresh_token).not.toBe(p0.refresh_token)
    expect(new Set(answers.map((a) => audOf(a.body.access_token)))).toEqual(new Set([ORDERS]))

    // The previous token inside the grace window gets the current refresh token back, with an
    // access token for the resource it asked for now.
    const graced = (await (await refreshFor(p0.refresh_token, BILLING)).json()) as Pair
    expect(graced.refresh_token).toBe(p1.refresh_token)
    expect(audOf(graced.access_token)).toBe(BILLING)
    expect(await counter()).toBe(before + 1)
    expect(await countAuditEvents(suite.server.db, 'refresh_grace', { sessionId: sid })).toBeGreaterThanOrEqual(1)

    // The current one rotates as usual; without a resource the token is for /me again.
    const p2 = (await (await refreshFor(p1.refresh_token)).json()) as Pair
    expect(audOf(p2.access_token)).toBe(suite.server.issuer)
    expect((await getMe(base, p2.access_token)).status).toBe(200)
    expect(await counter()).toBe(before + 2)

    // After the window, the spent one (whatever resource it asks for) revokes the whole session.
    clock.advance(GRACE + 1)
    const reused = await refreshFor(p1.refresh_token, ORDERS)
    expect(reused.status).toBe(400)
    expect(await reused.json()).toMatchObject({ error: 'invalid_grant' })
    expect(await countAuditEvents(suite.server.db, 'refresh_reuse_detected', { sessionId: sid })).toBe(1)
    expect((await refreshFor(p2.refresh_token, BILLING)).status).toBe(400)
    // Never a second session for the resources: the account has the one it signed up with.
    const userId = (await suite.server.db.selectFrom('sessions').select('user_id').where('id', '=', sid).executeTakeFirstOrThrow()).user_id
    expect((await suite.server.db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).length).toBe(1)
  })

  test('one refresh token shared by two clients (one per API) ends in reuse detection: the reason for one session per API', async () => {
    const p0 = await signUp(suite.server.url)
    // Client "orders" refreshes; client "billing" still holds p0's refresh token.
    const a1 = (await (await refreshFor(p0.refresh_token, ORDERS)).json()) as Pair
    clock.advance(GRACE + 1)
    const b1 = await refreshFor(p0.refresh_token, BILLING)
    expect(await b1.json()).toMatchObject({ error: 'invalid_grant' })
    // ...and the session is gone for both.
    expect((await refreshFor(a1.refresh_token, ORDERS)).status).toBe(400)

    // The supported shape: one sign-in per API, each its own session and refresh token family.
    const email = (await signUp(suite.server.url)).email
    const sessionFor = async (resource: string) => (await (await postJson(suite.server.url, '/auth/sign-in', { email, password: PASSWORD, resource })).json()) as Pair
    let forOrders = await sessionFor(ORDERS)
    let forBilling = await sessionFor(BILLING)
    for (let i = 0; i < 3; i++) {
      clock.advance(GRACE + 1)
      forOrders = (await (await refreshFor(forOrders.refresh_token, ORDERS)).json()) as Pair
      forBilling = (await (await refreshFor(forBilling.refresh_token, BILLING)).json()) as Pair
    }
    expect((await call(orders, forOrders.access_token)).status).toBe(200)
    expect((await call(billing, forBilling.access_token)).status).toBe(200)
  })

  test('the resource helper answers 401 with the auth server’s own RFC 6750 challenge', async () => {
    const forged = `${(await signUp(suite.server.url)).access_token.slice(0, -4)}AAAA`
    const fromMe = await getMe(suite.server.url, forged)
    const fromOrders = await call(orders, forged)
    expect(fromOrders.status).toBe(401)
    expect(fromOrders.headers.get('www-authenticate')).toBe(fromMe.headers.get('www-authenticate'))
    expect(await fromOrders.json()).toEqual(await fromMe.json())
    // No token at all: the bare challenge (RFC 6750 §3.1: no error code without credentials).
    const none = await orders.request('/r')
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    expect(await none.json()).toMatchObject({ error: 'invalid_token' })
  })
})

describe('finding 9: the resource helper', () => {
  const suite = serverForSuite(testBackends()[0]!, { resources: [ORDERS, BILLING] })
  let jwks: Server
  let jwksUrl: string
  let fetches = 0
  beforeAll(async () => {
    // A real loopback JWKS server that counts what it serves.
    jwks = createServer((_req, res) => {
      fetches++
      void suite.server.service.o.keys.jwks().then((body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)))
    })
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r))
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`
  })
  afterAll(() => new Promise<void>((r) => jwks.close(() => r())))

  test('builds its key set once, when its factory runs: one JWKS fetch for 100 requests, and none shared between factories', async () => {
    const pair = (await (await postJson(suite.server.url, '/auth/sign-up', { email: uniqueEmail(), password: PASSWORD, resource: ORDERS })).json()) as Pair
    const options = { jwksUrl, issuer: suite.server.issuer, audience: ORDERS }
    const api = new Hono().get('/r', requireAccessToken(options), (c) => c.text('ok'))
    const start = fetches
    const statuses = await Promise.all(Array.from({ length: 50 }, async () => (await api.request('/r', { headers: { authorization: `Bearer ${pair.access_token}` } })).status))
    for (let i = 0; i < 50; i++) statuses.push((await api.request('/r', { headers: { authorization: `Bearer ${pair.access_token}` } })).status)
    expect(statuses).toEqual(Array(100).fill(200))
    expect(fetches - start).toBe(1)

    // A second factory has its own key set (no module-level cache behind it); one verifier shared
    // by two routes has one.
    const verify = createAccessTokenVerifier(options)
    const two = new Hono().get('/a', requireAccessToken(verify), (c) => c.text('a')).get('/b', requireAccessToken(verify), (c) => c.text('b'))
    for (const path of ['/a', '/b', '/a', '/b']) expect((await two.request(path, { headers: { authorization: `Bearer ${pair.access_token}` } })).status).toBe(200)
    expect(fetches - start).toBe(2)
  })

  test('refuses to be configured with the issuer as its audience (the auth server’s own tokens)', () => {
    const issuer = suite.server.issuer
    for (const audience of [issuer, `${issuer}/`]) {
      expect(() => createAccessTokenVerifier({ jwksUrl, issuer, audience })).toThrow(/own resource URI/)
      expect(() => requireAccessToken({ jwksUrl, issuer, audience })).toThrow(TypeError)
    }
    expect(() => createAccessTokenVerifier({ jwksUrl, issuer, audience: '' })).toThrow(TypeError)
  })

  test('the auth server refuses to list its own audience among the resource servers', async () => {
    const issuer = 'https://auth.example.com'
    await expect(createApp({ issuer, resources: [ORDERS, issuer], dataDir: 'memory://', logger: silentLogger })).rejects.toThrow(ConfigError)
    await expect(createApp({ issuer, audience: ORDERS, resources: [ORDERS], dataDir: 'memory://', logger: silentLogger })).rejects.toThrow(/own audience/)
  })

  test('refuses a token with more than one audience, even one of them its own', async () => {
    const { SignJWT, importJWK } = await import('jose')
    const row = await suite.server.db.selectFrom('signing_keys').selectAll().where('status', '=', 'current').executeTakeFirstOrThrow()
    const key = await importJWK(JSON.parse(row.private_jwk) as Parameters<typeof importJWK>[0], 'ES256')
    const sign = (aud: string | string[]) =>
      new SignJWT({ sid: 's' }).setProtectedHeader({ alg: 'ES256', kid: row.kid, typ: 'at+jwt' }).setIssuer(suite.server.issuer).setAudience(aud)
        .setSubject('u').setIssuedAt().setExpirationTime('5m').setJti('j').sign(key)
    const verify = createAccessTokenVerifier({ keys: await suite.server.service.o.keys.jwks(), issuer: suite.server.issuer, audience: ORDERS })
    await expect(verify(await sign(ORDERS))).resolves.toMatchObject({ aud: ORDERS })
    await expect(verify(await sign([ORDERS, BILLING]))).rejects.toThrow(/more than one audience/)
  })
})
