import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createPasswordHasher, hashPassword, verifyPassword } from './crypto/password.js'
import { countAuditEvents, listAuditEvents } from './store/audit.js'
import { testBackends, type TestDatabase } from './test-support/databases.js'
import { PASSWORD, TestClock, getMe, postForm, postJson, refresh, sidOf, signUp, startTestServer, uniqueEmail, type Pair } from './test-support/server.js'
import type { RunningServer } from './server.js'

const GRACE = 2
const IDLE = 1000
const MAX = 2500

describe.each(testBackends())('server on $name', (backend) => {
  let tdb: TestDatabase
  let server: RunningServer
  let base: string
  const clock = new TestClock()
  /** The hash each Argon2id verification ran against (real Argon2id, counted). */
  const verified: string[] = []
  const passwords = createPasswordHasher({
    queueTimeoutMs: 600_000, // not under test here: a busy machine must not turn sign-ins into 503s
    argon2: {
      hash: hashPassword,
      verify: (passwordHash: string, password: string) => {
        verified.push(passwordHash)
        return verifyPassword(passwordHash, password)
      },
    },
  })

  beforeAll(async () => {
    tdb = await backend.create()
    server = await startTestServer(tdb, {
      passwords,
      refreshGrace: GRACE,
      sessionIdle: IDLE,
      sessionMax: MAX,
      now: clock.now,
      rateLimit: { perAccount: { max: 3, windowSeconds: 60 }, perIp: { max: 1000, windowSeconds: 60 } },
    })
    base = server.url
  })
  afterAll(async () => {
    await server?.close()
    await tdb?.cleanup()
  })

  const sessionRow = (id: string) => server.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow()

  test('health, discovery and JWKS', async () => {
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ ok: true })
    const meta = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
    expect(meta).toMatchObject({ issuer: base, token_endpoint: `${base}/oauth/token`, revocation_endpoint: `${base}/oauth/revoke`, jwks_uri: `${base}/.well-known/jwks.json` })
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] }
    expect(jwks.keys).toHaveLength(1)
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
    expect(jwks.keys[0]).not.toHaveProperty('d')
  })

  test('sign-up answers 201 with an RFC 6749 §5.1 token response and no-store; a taken email 409', async () => {
    const email = uniqueEmail()
    const res = await postJson(base, '/auth/sign-up', { email, password: PASSWORD, device: 'Pixel 9' })
    expect(res.status).toBe(201)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('pragma')).toBe('no-cache')
    const body = (await res.json()) as Pair
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 600, refresh_token: expect.any(String) })
    const again = await postJson(base, '/auth/sign-up', { email: email.toUpperCase(), password: PASSWORD })
    expect(again.status).toBe(409)
    expect(await again.json()).toMatchObject({ error: 'account_exists' })
    expect(await countAuditEvents(server.db, 'sign_up', { sessionId: sidOf(body.access_token) })).toBe(1)
  })

  test('sign-in: 200 with the right password; 401 invalid_credentials for a wrong one or an unknown account, alike', async () => {
    const { email } = await signUp(base)
    const ok = await postJson(base, '/auth/sign-in', { email, password: PASSWORD, device: 'laptop' })
    expect(ok.status).toBe(200)
    const wrong = await postJson(base, '/auth/sign-in', { email, password: 'not the password' })
    const unknown = await postJson(base, '/auth/sign-in', { email: uniqueEmail('nobody'), password: 'not the password' })
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    const [a, b] = [await wrong.json(), await unknown.json()]
    expect(a).toEqual({ error: 'invalid_credentials', error_description: expect.any(String) })
    expect(b).toEqual(a)
  })

  test('sign-in costs one Argon2id verification of equal parameters whether or not the account exists (dummy hash)', async () => {
    // Counted, not timed: the two paths do the same work, so their time tells nothing (OWASP ASVS
    // 5.0 V6: no account enumeration through response time).
    const { email } = await signUp(base)
    verified.length = 0
    expect((await postJson(base, '/auth/sign-in', { email, password: 'wrong password!' })).status).toBe(401)
    expect((await postJson(base, '/auth/sign-in', { email: uniqueEmail('ghost'), password: 'wrong password!' })).status).toBe(401)
    expect(verified).toHaveLength(2)
    const [known, unknown] = verified as [string, string]
    expect(unknown).not.toBe(known)
    // PHC strings: $argon2id$v=19$m=…,t=…,p=…$salt$hash — the same algorithm and cost.
    const cost = (phc: string) => phc.split('$').slice(1, 4).join('$')
    expect(cost(unknown)).toBe(cost(known))
    expect(cost(known)).toMatch(/^argon2id\$v=19\$m=19456,t=2,p=1$/)
  })

  test('GET /me: {id, email} with the access token; 401 + WWW-Authenticate without or with garbage', async () => {
    const pair = await signUp(base)
    const me = await getMe(base, pair.access_token)
    expect(me.status).toBe(200)
    expect(await me.json()).toEqual({ id: expect.any(String), email: pair.email, email_verified: false, roles: [] })
    for (const headers of <Record<string, string>[]>[{}, { authorization: 'Bearer nope' }, { authorization: `Basic ${pair.access_token}` }]) {
      const r = await fetch(`${base}/me`, { headers })
      expect(r.status).toBe(401)
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
      expect(await r.json()).toMatchObject({ error: 'invalid_token' })
    }
  })

  test('refresh rotates: a new pair each time, form or JSON body, counter +1, audit refresh', async () => {
    const p0 = await signUp(base)
    const r1 = await refresh(base, p0.refresh_token)
    expect(r1.status).toBe(200)
    expect(r1.headers.get('cache-control')).toBe('no-store')
    expect(r1.headers.get('pragma')).toBe('no-cache')
    const p1 = (await r1.json()) as Pair
    expect(p1.refresh_token).not.toBe(p0.refresh_token)
    expect(p1.token_type).toBe('Bearer')
    const r2 = await postJson(base, '/oauth/token', { grant_type: 'refresh_token', refresh_token: p1.refresh_token })
    expect(r2.status).toBe(200)
    const p2 = (await r2.json()) as Pair
    const sid = sidOf(p0.access_token)
    expect(sidOf(p2.access_token)).toBe(sid)
    expect((await sessionRow(sid)).counter).toBe(2)
    expect(await countAuditEvents(server.db, 'refresh', { sessionId: sid })).toBe(2)
    expect((await getMe(base, p2.access_token)).status).toBe(200)
    // The database never holds a refresh token.
    const row = await sessionRow(sid)
    expect(JSON.stringify(row)).not.toContain(p2.refresh_token.split('.')[2])
  })

  test('token endpoint errors: §5.2 JSON with the right codes, 400, no-store', async () => {
    const cases: [Record<string, string>, string][] = [
      [{}, 'invalid_request'],
      [{ grant_type: 'password', username: 'a', password: 'b' }, 'unsupported_grant_type'],
      [{ grant_type: 'authorization_code', code: 'x' }, 'unsupported_grant_type'],
      [{ grant_type: 'refresh_token' }, 'invalid_request'],
      [{ grant_type: 'refresh_token', refresh_token: 'garbage' }, 'invalid_grant'],
      [{ grant_type: 'refresh_token', refresh_token: 'AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, 'invalid_grant'],
    ]
    for (const [form, error] of cases) {
      const res = await postForm(base, '/oauth/token', form)
      expect(res.status, JSON.stringify(form)).toBe(400)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(await res.json()).toEqual({ error, error_description: expect.any(String) })
    }
  })

  test('a forged MAC for a real session is rejected without revoking the session', async () => {
    const p = await signUp(base)
    const [sid, counter, mac] = p.refresh_token.split('.')
    const forged = `${sid}.${counter}.${mac!.slice(0, -2)}${mac!.endsWith('AA') ? 'AQ' : 'AA'}`
    expect((await (await refresh(base, forged)).json()) as object).toMatchObject({ error: 'invalid_grant' })
    const bumped = `${sid}.${Number(counter) + 1}.${mac}`
    expect((await refresh(base, bumped)).status).toBe(400)
    expect((await sessionRow(sid!)).revoked_at).toBeNull()
    expect((await refresh(base, p.refresh_token)).status).toBe(200)
  })

  test('100 concurrent refreshes with one token over HTTP: one rotation, every response the same new refresh token', async () => {
    const p0 = await signUp(base)
    const sid = sidOf(p0.access_token)
    clock.freeze() // all 100 land inside the grace window however slow the machine is
    try {
      const responses = await Promise.all(Array.from({ length: 100 }, () => refresh(base, p0.refresh_token)))
      const bodies = (await Promise.all(responses.map((r) => r.json()))) as Pair[]
      expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200))
      const refreshTokens = new Set(bodies.map((b) => b.refresh_token))
      expect(refreshTokens.size).toBe(1)
      expect((await sessionRow(sid)).counter).toBe(1)
      expect(await countAuditEvents(server.db, 'refresh', { sessionId: sid })).toBe(1)
      expect(await countAuditEvents(server.db, 'refresh_grace', { sessionId: sid })).toBe(99)
      expect(await countAuditEvents(server.db, 'refresh_reuse_detected', { sessionId: sid })).toBe(0)
      // Every access token handed out is for the same, still-live session.
      expect(new Set(bodies.map((b) => sidOf(b.access_token)))).toEqual(new Set([sid]))
      for (const b of bodies.slice(0, 3)) expect((await getMe(base, b.access_token)).status).toBe(200)
      // The shared new token is the current one: it rotates once more.
      expect((await refresh(base, [...refreshTokens][0]!)).status).toBe(200)
    } finally {
      clock.unfreeze()
    }
  })

  test('grace: the previous token inside the window gets the current pair back', async () => {
    const p0 = await signUp(base)
    const p1 = (await (await refresh(base, p0.refresh_token)).json()) as Pair
    const again = await refresh(base, p0.refresh_token)
    expect(again.status).toBe(200)
    const p1b = (await again.json()) as Pair
    expect(p1b.refresh_token).toBe(p1.refresh_token)
    expect((await getMe(base, p1b.access_token)).status).toBe(200)
    expect(await countAuditEvents(server.db, 'refresh_grace', { sessionId: sidOf(p0.access_token) })).toBe(1)
  })

  test(`grace: the previous token after the ${GRACE} s window revokes the session; /me and every refresh then fail; audit records the reuse`, async () => {
    const p0 = await signUp(base)
    const sid = sidOf(p0.access_token)
    clock.freeze() // the window is measured on the server's clock, which only the test moves
    let late: Response
    let p1: Pair
    try {
      p1 = (await (await refresh(base, p0.refresh_token)).json()) as Pair
      clock.advance(GRACE) // at the edge: still inside the window
      expect((await refresh(base, p0.refresh_token)).status).toBe(200)
      clock.advance(0.001) // one millisecond past it
      late = await refresh(base, p0.refresh_token)
    } finally {
      clock.unfreeze()
    }
    expect(late.status).toBe(400)
    expect(await late.json()).toMatchObject({ error: 'invalid_grant' })
    const row = await sessionRow(sid)
    expect(row.revoked_at).not.toBeNull()
    expect(row.revoke_reason).toBe('reuse')
    // The session is over: the current token no longer refreshes, and its access tokens are refused.
    expect(await (await refresh(base, p1.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' })
    expect((await getMe(base, p1.access_token)).status).toBe(401)
    expect((await getMe(base, p0.access_token)).status).toBe(401)
    const events = await listAuditEvents(server.db, { type: 'refresh_reuse_detected', sessionId: sid })
    expect(events).toHaveLength(1)
    expect(events[0]!.detail).toEqual({ presented: 0, current: 1 })
  })

  test('an older token (two rotations back) revokes the session even inside the window', async () => {
    const p0 = await signUp(base)
    const p1 = (await (await refresh(base, p0.refresh_token)).json()) as Pair
    const p2 = (await (await refresh(base, p1.refresh_token)).json()) as Pair
    expect((await refresh(base, p0.refresh_token)).status).toBe(400)
    expect((await refresh(base, p2.refresh_token)).status).toBe(400)
    expect(await countAuditEvents(server.db, 'refresh_reuse_detected', { sessionId: sidOf(p0.access_token) })).toBe(1)
  })

  test('idle lifetime ends an unused session', async () => {
    const p0 = await signUp(base)
    clock.advance(IDLE + 1)
    expect(await (await refresh(base, p0.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' })
  })

  test('absolute lifetime ends a session however much it is used', async () => {
    let p: Pair = await signUp(base)
    for (let t = 0; t < 2; t++) {
      clock.advance(IDLE - 10)
      const r = await refresh(base, p.refresh_token)
      expect(r.status).toBe(200)
      p = (await r.json()) as Pair
    }
    clock.advance(MAX - 2 * (IDLE - 10) + 1) // past MAX since sign-up, though used within IDLE
    expect(await (await refresh(base, p.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' })
  })

  test('an access token of a session past its absolute lifetime is refused by /me and the session list, though it has not expired (the session check is "live")', async () => {
    let p: Pair = await signUp(base)
    for (let t = 0; t < 3; t++) {
      clock.advance(IDLE - 200)
      p = (await (await refresh(base, p.refresh_token)).json()) as Pair
    }
    // 2400 s after sign-up: the session's last access token is good until 3000 s, the session until 2500 s.
    expect((await getMe(base, p.access_token)).status).toBe(200)
    clock.advance(MAX - 3 * (IDLE - 200) + 1)
    expect(await (await refresh(base, p.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' })
    expect((await getMe(base, p.access_token)).status).toBe(401)
    expect((await fetch(`${base}/auth/sessions`, { headers: { authorization: `Bearer ${p.access_token}` } })).status).toBe(401)
  })

  test('a session that ended by its idle lifetime is not listed and cannot be removed: 404, as for a signed-out one', async () => {
    const a = await signUp(base, uniqueEmail(), 'phone')
    const b = (await (await postJson(base, '/auth/sign-in', { email: a.email, password: PASSWORD, device: 'tablet' })).json()) as Pair
    clock.advance(IDLE - 200)
    const a1 = (await (await refresh(base, a.refresh_token)).json()) as Pair
    clock.advance(201) // the tablet unused for IDLE + 1 s; the phone used 201 s ago
    const auth = { authorization: `Bearer ${a1.access_token}` }
    const list = (await (await fetch(`${base}/auth/sessions`, { headers: auth })).json()) as { sessions: { device: string }[] }
    expect(list.sessions.map((s) => s.device)).toEqual(['phone'])
    expect((await fetch(`${base}/auth/sessions/${sidOf(b.access_token)}`, { method: 'DELETE', headers: auth })).status).toBe(404)
    expect(await countAuditEvents(server.db, 'sign_out', { sessionId: sidOf(b.access_token) })).toBe(0)
  })

  test('RFC 7009 revocation: 200 for unknown tokens; a refresh token ends its session; an access token too', async () => {
    for (const form of <Record<string, string>[]>[{ token: 'unknown' }, { token: 'x', token_type_hint: 'refresh_token' }, { token: 'AAAAAAAAAAAAAAAAAAAAAA.3.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }]) {
      expect((await postForm(base, '/oauth/revoke', form)).status).toBe(200)
    }
    expect((await postForm(base, '/oauth/revoke', {})).status).toBe(400)
    const a = await signUp(base)
    expect((await postForm(base, '/oauth/revoke', { token: a.refresh_token, token_type_hint: 'refresh_token' })).status).toBe(200)
    expect(await (await refresh(base, a.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' })
    expect((await getMe(base, a.access_token)).status).toBe(401)
    expect(await countAuditEvents(server.db, 'revoke', { sessionId: sidOf(a.access_token) })).toBe(1)
    const b = await signUp(base)
    expect((await postForm(base, '/oauth/revoke', { token: b.access_token, token_type_hint: 'access_token' })).status).toBe(200)
    expect((await refresh(base, b.refresh_token)).status).toBe(400)
  })

  test('sessions: list with current flag, delete one, sign-out-others, sign-out, sign-out-all', async () => {
    const a = await signUp(base, uniqueEmail(), 'phone')
    const signIn = async (device: string) => (await (await postJson(base, '/auth/sign-in', { email: a.email, password: PASSWORD, device })).json()) as Pair
    const b = await signIn('tablet')
    const c = await signIn('laptop')
    const d = await signIn('desktop')
    const auth = (p: Pair) => ({ authorization: `Bearer ${p.access_token}` })
    const list = (await (await fetch(`${base}/auth/sessions`, { headers: auth(a) })).json()) as { sessions: { id: string; device: string; current: boolean; createdAt: string; lastUsedAt: string }[] }
    expect(list.sessions.map((s) => s.device).sort()).toEqual(['desktop', 'laptop', 'phone', 'tablet'])
    expect(list.sessions.filter((s) => s.current).map((s) => s.device)).toEqual(['phone'])
    expect(Date.parse(list.sessions[0]!.createdAt)).not.toBeNaN()
    // Remote sign-out of the tablet.
    const del = await fetch(`${base}/auth/sessions/${sidOf(b.access_token)}`, { method: 'DELETE', headers: auth(a) })
    expect(del.status).toBe(200)
    expect((await refresh(base, b.refresh_token)).status).toBe(400)
    // Someone else's session id is a 404, not a revocation.
    const stranger = await signUp(base)
    expect((await fetch(`${base}/auth/sessions/${sidOf(c.access_token)}`, { method: 'DELETE', headers: auth(stranger) })).status).toBe(404)
    expect((await fetch(`${base}/auth/sessions/..%2F..`, { method: 'DELETE', headers: auth(a) })).status).toBe(404)
    // Sign out the others (c, d) from a.
    const others = await fetch(`${base}/auth/sign-out-others`, { method: 'POST', headers: auth(a) })
    expect(await others.json()).toEqual({ ok: true, signedOut: 2 })
    expect((await refresh(base, c.refresh_token)).status).toBe(400)
    expect((await refresh(base, d.refresh_token)).status).toBe(400)
    expect((await getMe(base, a.access_token)).status).toBe(200)
    // Sign out this one.
    expect((await fetch(`${base}/auth/sign-out`, { method: 'POST', headers: auth(a) })).status).toBe(200)
    expect((await refresh(base, a.refresh_token)).status).toBe(400)
    expect((await getMe(base, a.access_token)).status).toBe(401)
    // Sign out everywhere.
    const e = await signIn('e')
    const f = await signIn('f')
    expect(await (await fetch(`${base}/auth/sign-out-all`, { method: 'POST', headers: auth(e) })).json()).toEqual({ ok: true, signedOut: 2 })
    expect((await refresh(base, f.refresh_token)).status).toBe(400)
    expect(await countAuditEvents(server.db, 'sign_out', { userId: (await (await getMe(base, stranger.access_token)).json() as { id: string }).id })).toBe(0)
  })

  test('sign-out with a refresh token in the body (no access token) ends the session', async () => {
    const p = await signUp(base)
    expect((await postJson(base, '/auth/sign-out', { refresh_token: p.refresh_token })).status).toBe(200)
    expect((await refresh(base, p.refresh_token)).status).toBe(400)
    expect((await postJson(base, '/auth/sign-out', {})).status).toBe(401)
  })

  test('cookie mode: refresh token only in an httpOnly SameSite=Strict cookie on /oauth; accepted only with the header', async () => {
    const H = { 'X-Latchkey-Token-Delivery': 'cookie' }
    const res = await postJson(base, '/auth/sign-up', { email: uniqueEmail('web'), password: PASSWORD }, H)
    expect(res.status).toBe(201)
    const body = (await res.json()) as Record<string, unknown>
    expect(body).not.toHaveProperty('refresh_token')
    expect(body).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 600 })
    const setCookie = res.headers.get('set-cookie')!
    expect(setCookie).toMatch(/^latchkey_refresh=[^;]+;/)
    expect(setCookie).toMatch(/HttpOnly/i)
    expect(setCookie).toMatch(/SameSite=Strict/i)
    expect(setCookie).toMatch(/Path=\/oauth(;|$)/)
    expect(setCookie).not.toMatch(/Secure/i) // http://127.0.0.1 only
    const cookie = setCookie.split(';')[0]!
    // Without the header the cookie is ignored (CSRF guard).
    const noHeader = await fetch(`${base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: 'grant_type=refresh_token' })
    expect(noHeader.status).toBe(400)
    expect(await noHeader.json()).toMatchObject({ error: 'invalid_request' })
    // With it: rotation, new cookie, no refresh token in the body.
    const ok = await fetch(`${base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...H }, body: 'grant_type=refresh_token' })
    expect(ok.status).toBe(200)
    expect(await ok.json()).not.toHaveProperty('refresh_token')
    const cookie2 = ok.headers.get('set-cookie')!.split(';')[0]!
    expect(cookie2).not.toBe(cookie)
    // Revocation with the cookie clears it and ends the session.
    const rev = await fetch(`${base}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookie2, ...H }, body: 'token_type_hint=refresh_token' })
    expect(rev.status).toBe(200)
    expect(rev.headers.get('set-cookie')).toMatch(/^latchkey_refresh=;.*Max-Age=0/i)
    const after = await fetch(`${base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookie2, ...H }, body: 'grant_type=refresh_token' })
    expect(await after.json()).toMatchObject({ error: 'invalid_grant' })
    expect(after.headers.get('set-cookie')).toMatch(/Max-Age=0/i)
  })

  test('cookie mode sign-out (access token) clears the cookie', async () => {
    const H = { 'X-Latchkey-Token-Delivery': 'cookie' }
    const res = await postJson(base, '/auth/sign-up', { email: uniqueEmail('web'), password: PASSWORD }, H)
    const { access_token } = (await res.json()) as Pair
    const out = await fetch(`${base}/auth/sign-out`, { method: 'POST', headers: { authorization: `Bearer ${access_token}`, ...H } })
    expect(out.status).toBe(200)
    expect(out.headers.get('set-cookie')).toMatch(/^latchkey_refresh=;.*Path=\/oauth/i)
    expect((await getMe(base, access_token)).status).toBe(401)
  })

  test('brute force on one account: 429 with Retry-After after the limit, also for the right password', async () => {
    const { email } = await signUp(base)
    for (let i = 0; i < 3; i++) expect((await postJson(base, '/auth/sign-in', { email, password: `wrong-${i}-password` })).status).toBe(401)
    const blocked = await postJson(base, '/auth/sign-in', { email, password: PASSWORD })
    expect(blocked.status).toBe(429)
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await blocked.json()).toMatchObject({ error: 'rate_limited' })
    // Another account is unaffected.
    const other = await signUp(base)
    expect((await postJson(base, '/auth/sign-in', { email: other.email, password: PASSWORD })).status).toBe(200)
  })
})
