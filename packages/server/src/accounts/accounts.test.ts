// Issue 13: the password policy at sign-up, changing the password, deleting the account (API and
// web page), on a real HTTP server over PGlite and PostgreSQL.
import { describe, expect, test } from 'vitest'
import { createPasswordHasher, hashPassword, verifyPassword } from '../crypto/password.js'
import { listAuditEvents } from '../store/audit.js'
import { testBackends, type TestDatabase } from '../test-support/databases.js'
import { PASSWORD, TestClock, getMe, postForm, postJson, refresh, serverForSuite, sidOf, signUp, startTestServer, uniqueEmail, type Pair } from '../test-support/server.js'
import { until } from '../test-support/until.js'

const NEW_PASSWORD = 'purple elephants juggle quietly'
const bearer = (p: Pair) => ({ authorization: `Bearer ${p.access_token}` })
const signIn = (base: string, email: string, password = PASSWORD, device = 'tablet') => postJson(base, '/auth/sign-in', { email, password, device })
const pairOf = async (res: Response) => {
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json()) as Pair
}
const changePassword = (base: string, p: Pair, body: Record<string, unknown>) => postJson(base, '/auth/change-password', body, bearer(p))
const deleteAccount = (base: string, p: Pair, body: Record<string, unknown>) => postJson(base, '/auth/delete-account', body, bearer(p))

describe.each(testBackends())('accounts on $name', (backend) => {
  describe('without rate limits', () => {
    const suite = serverForSuite(backend, { rateLimit: false })

    test.each([
      ['four e + combining accent (8 UTF-16 units, 4 code points after NFKC)', 'e\u0301'.repeat(4), 'password_too_short'],
      ['seven characters', 'tvqzkmw', 'password_too_short'],
      ['257 characters', 'Zq9!'.repeat(64) + 'w', 'password_too_long'],
      ['a common password', 'Password1', 'password_common'],
      ['a common password in capitals', 'QWERTY123', 'password_common'],
      ['a sequence', '87654321', 'password_common'],
      ["the app's name", 'latchkey forever 42', 'password_contains_context'],
    ])('sign-up refuses %s: 400 invalid_password with the reason, and creates no account', async (_name, password, reason) => {
      const email = uniqueEmail('policy')
      const res = await postJson(suite.server.url, '/auth/sign-up', { email, password })
      expect(res.status).toBe(400)
      const body = (await res.json()) as Record<string, unknown>
      expect(body).toMatchObject({ error: 'invalid_password', reason })
      expect(body.error_description).toMatch(/^password: /)
      expect(JSON.stringify(body)).not.toContain(password)
      expect(await suite.server.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()).toBeUndefined()
    })

    test("sign-up refuses the email's local part in the password", async () => {
      const res = await postJson(suite.server.url, '/auth/sign-up', { email: 'marguerite.q@example.com', password: 'Marguerite 2024!' })
      expect(await res.json()).toMatchObject({ error: 'invalid_password', reason: 'password_contains_context' })
    })

    test('sign-up accepts a 64-character passphrase, which then signs in', async () => {
      const password = 'the quick brown fox jumps over the lazy dog while humming softly'
      expect([...password].length).toBe(64)
      const email = uniqueEmail('long')
      expect((await postJson(suite.server.url, '/auth/sign-up', { email, password })).status).toBe(201)
      expect((await signIn(suite.server.url, email, password)).status).toBe(200)
    })

    test('change password: the old one is refused after, the other sessions are refused at once, the current one lives', async () => {
      const base = suite.server.url
      const a = await signUp(base, undefined, 'phone')
      const b = await pairOf(await signIn(base, a.email))
      const res = await changePassword(base, a, { current_password: PASSWORD, new_password: NEW_PASSWORD })
      expect(res.status, await res.clone().text()).toBe(200)
      expect(await res.json()).toEqual({ ok: true, signedOut: 1, sessionEnded: false })
      // The other session: refused at once, access and refresh.
      expect((await getMe(base, b.access_token)).status).toBe(401)
      expect(await (await refresh(base, b.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' })
      // The current session lives on.
      expect((await getMe(base, a.access_token)).status).toBe(200)
      expect((await refresh(base, a.refresh_token)).status).toBe(200)
      // Old password refused, new accepted.
      expect((await signIn(base, a.email, PASSWORD)).status).toBe(401)
      expect((await signIn(base, a.email, NEW_PASSWORD)).status).toBe(200)
      const userId = (await getMe(base, a.access_token).then((r) => r.json()) as { id: string }).id
      const changed = await listAuditEvents(suite.server.db, { type: 'password_changed', userId })
      expect(changed).toHaveLength(1)
      expect(changed[0]).toMatchObject({ sessionId: sidOf(a.access_token), detail: { endSessions: 'others', signedOut: 1 } })
    })

    test('change password: a wrong current password is 403 and changes nothing; a weak new one is 400 with its reason; no token is 401', async () => {
      const base = suite.server.url
      const a = await signUp(base)
      const b = await pairOf(await signIn(base, a.email))
      const wrong = await changePassword(base, a, { current_password: 'not the password', new_password: NEW_PASSWORD })
      expect(wrong.status).toBe(403)
      expect(await wrong.json()).toMatchObject({ error: 'invalid_credentials' })
      const weak = await changePassword(base, a, { current_password: PASSWORD, new_password: 'iloveyou' })
      expect(weak.status).toBe(400)
      expect(await weak.json()).toMatchObject({ error: 'invalid_password', reason: 'password_common' })
      const context = await changePassword(base, a, { current_password: PASSWORD, new_password: `${a.email.split('@')[0]}!!` })
      expect(await context.json()).toMatchObject({ error: 'invalid_password', reason: 'password_contains_context' })
      expect((await postJson(base, '/auth/change-password', { current_password: PASSWORD, new_password: NEW_PASSWORD })).status).toBe(401)
      expect((await changePassword(base, a, { new_password: NEW_PASSWORD })).status).toBe(400)
      expect((await getMe(base, b.access_token)).status).toBe(200)
      expect((await signIn(base, a.email, PASSWORD)).status).toBe(200)
    })

    test('change password: end_sessions none keeps the others; all ends this one too', async () => {
      const base = suite.server.url
      const a = await signUp(base)
      const b = await pairOf(await signIn(base, a.email))
      expect(await (await changePassword(base, a, { current_password: PASSWORD, new_password: NEW_PASSWORD, end_sessions: 'none' })).json()).toEqual({
        ok: true,
        signedOut: 0,
        sessionEnded: false,
      })
      expect((await getMe(base, b.access_token)).status).toBe(200)
      expect(await (await changePassword(base, a, { current_password: NEW_PASSWORD, new_password: PASSWORD, end_sessions: 'all' })).json()).toEqual({
        ok: true,
        signedOut: 2,
        sessionEnded: true,
      })
      expect((await getMe(base, a.access_token)).status).toBe(401)
      expect((await getMe(base, b.access_token)).status).toBe(401)
    })

    test('delete account: no password is 400, no token 401, a wrong password 403; each deletes nothing', async () => {
      const base = suite.server.url
      const a = await signUp(base)
      expect((await deleteAccount(base, a, {})).status).toBe(400)
      expect((await postJson(base, '/auth/delete-account', { password: PASSWORD })).status).toBe(401)
      const wrong = await deleteAccount(base, a, { password: 'not the password' })
      expect(wrong.status).toBe(403)
      expect(await wrong.json()).toMatchObject({ error: 'invalid_credentials' })
      expect((await getMe(base, a.access_token)).status).toBe(200)
    })

    test('delete account: every token refused at once, sign-in fails, audit rows kept without personal data, the email can sign up again', async () => {
      const base = suite.server.url
      const db = suite.server.db
      const a = await signUp(base, undefined, 'phone')
      const b = await pairOf(await signIn(base, a.email))
      expect((await signIn(base, a.email, 'a wrong guess')).status).toBe(401)
      const userId = ((await (await getMe(base, a.access_token)).json()) as { id: string }).id
      expect((await listAuditEvents(db, { userId })).length).toBeGreaterThanOrEqual(3)

      const res = await deleteAccount(base, a, { password: PASSWORD })
      expect(res.status, await res.clone().text()).toBe(200)
      expect(await res.json()).toEqual({ ok: true, deleted: true, signedOut: 2 })

      for (const p of [a, b]) {
        expect((await getMe(base, p.access_token)).status).toBe(401)
        expect(await (await refresh(base, p.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' })
        expect((await fetch(`${base}/auth/sessions`, { headers: bearer(p) })).status).toBe(401)
      }
      expect((await signIn(base, a.email)).status).toBe(401)
      expect(await db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()).toBeUndefined()
      expect(await db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).toEqual([])

      // The audit trail: nothing left under the account's id; its rows under a pseudonym, with no address or session.
      expect(await listAuditEvents(db, { userId })).toEqual([])
      const deleted = (await listAuditEvents(db, { type: 'account_deleted' })).filter((e) => e.detail?.signedOut === 2)
      const pseudonym = deleted.at(-1)!.userId!
      expect(pseudonym).toMatch(/^deleted-/)
      const kept = await listAuditEvents(db, { userId: pseudonym })
      expect(kept.map((e) => e.type)).toEqual(expect.arrayContaining(['sign_up', 'sign_in', 'sign_in_failed', 'account_deleted']))
      for (const e of kept) {
        expect(e.ip).toBeNull()
        expect(e.sessionId).toBeNull()
        expect(JSON.stringify(e.detail ?? {})).not.toContain(a.email)
      }

      // The address is free again.
      const again = await signUp(base, a.email)
      expect((await getMe(base, again.access_token)).status).toBe(200)
      expect(((await (await getMe(base, again.access_token)).json()) as { id: string }).id).not.toBe(userId)
    })

    test('parallel deletions of one account from five sessions: one deletes, the others are refused, none answers 5xx', async () => {
      const base = suite.server.url
      const a = await signUp(base)
      const pairs = [a, ...(await Promise.all([1, 2, 3, 4].map(async (i) => pairOf(await signIn(base, a.email, PASSWORD, `device ${i}`)))))]
      const statuses = await Promise.all(pairs.map(async (p) => (await deleteAccount(base, p, { password: PASSWORD })).status))
      expect(statuses.filter((s) => s === 200)).toHaveLength(1)
      for (const s of statuses) expect([200, 401, 403]).toContain(s)
      expect((await signIn(base, a.email)).status).toBe(401)
    })

    test('parallel password changes and a deletion on one account: no 5xx, and the account ends in one consistent state', async () => {
      const base = suite.server.url
      const a = await signUp(base)
      const pairs = [a, ...(await Promise.all([1, 2, 3].map(async (i) => pairOf(await signIn(base, a.email, PASSWORD, `device ${i}`)))))]
      const statuses = await Promise.all([
        changePassword(base, pairs[0]!, { current_password: PASSWORD, new_password: 'first new passphrase here', end_sessions: 'none' }),
        changePassword(base, pairs[1]!, { current_password: PASSWORD, new_password: 'second new passphrase here', end_sessions: 'none' }),
        changePassword(base, pairs[2]!, { current_password: PASSWORD, new_password: 'third new passphrase here' }),
        deleteAccount(base, pairs[3]!, { password: PASSWORD }),
      ]).then((rs) => rs.map((r) => r.status))
      for (const s of statuses) expect([200, 401, 403]).toContain(s)
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1)
      const working = await Promise.all(
        [PASSWORD, 'first new passphrase here', 'second new passphrase here', 'third new passphrase here'].map(async (p) => (await signIn(base, a.email, p)).status),
      )
      // Deleted (no password works) or exactly one password works.
      expect(working.filter((s) => s === 200).length).toBe(statuses[3] === 200 ? 0 : 1)
    })

    test('a deletion racing sign-outs of others from the account\'s other sessions: no 5xx, the account ends deleted', async () => {
      const base = suite.server.url
      for (let round = 0; round < 5; round++) {
        const a = await signUp(base)
        const others = await Promise.all([1, 2, 3].map(async (i) => pairOf(await signIn(base, a.email, PASSWORD, `device ${i}`))))
        const statuses = await Promise.all([
          deleteAccount(base, a, { password: PASSWORD }),
          fetch(`${base}/auth/sign-out-others`, { method: 'POST', headers: bearer(others[0]!) }),
          fetch(`${base}/auth/sign-out-others`, { method: 'POST', headers: bearer(others[1]!) }),
          changePassword(base, others[2]!, { current_password: PASSWORD, new_password: NEW_PASSWORD }),
        ]).then((rs) => rs.map((r) => r.status))
        for (const s of statuses) expect([200, 401, 403]).toContain(s)
      }
    })

    test('the web page: GET shows the form; a wrong password is refused; the right one deletes the account', async () => {
      const base = suite.server.url
      const a = await signUp(base)
      const get = await fetch(`${base}/account/delete`)
      expect(get.status).toBe(200)
      expect(get.headers.get('content-type')).toMatch(/^text\/html/)
      expect(get.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
      const html = await get.text()
      expect(html).toContain('<form method="post" action="delete">')
      expect(html).toMatch(/name="password" type="password"/)

      const wrong = await postForm(base, '/account/delete', { email: a.email, password: 'not the password', confirm: 'yes' })
      expect(wrong.status).toBe(403)
      expect(await wrong.text()).toContain('The email or password is incorrect.')
      const unconfirmed = await postForm(base, '/account/delete', { email: a.email, password: PASSWORD })
      expect(unconfirmed.status).toBe(400)
      expect((await getMe(base, a.access_token)).status).toBe(200)

      const ok = await postForm(base, '/account/delete', { email: a.email, password: PASSWORD, confirm: 'yes' })
      expect(ok.status).toBe(200)
      expect(await ok.text()).toContain('Account deleted')
      expect((await getMe(base, a.access_token)).status).toBe(401)
      expect(await (await refresh(base, a.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' })
      expect((await signIn(base, a.email)).status).toBe(401)
      expect((await postForm(base, '/account/delete', { email: a.email, password: PASSWORD, confirm: 'yes' })).status).toBe(403)
    })
  })

  describe('with the session check on access off (stateless access tokens)', () => {
    const suite = serverForSuite(backend, { rateLimit: false, checkSessionOnAccess: false })

    test('after deletion /me refuses the access token (its account is gone), the refresh token is invalid_grant, deletion needs a live session', async () => {
      const base = suite.server.url
      const a = await signUp(base)
      const b = await pairOf(await signIn(base, a.email))
      expect((await deleteAccount(base, a, { password: PASSWORD })).status).toBe(200)
      expect((await getMe(base, a.access_token)).status).toBe(401)
      expect(await (await refresh(base, a.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' })
      expect((await deleteAccount(base, b, { password: PASSWORD })).status).toBe(401)
      expect((await changePassword(base, b, { current_password: PASSWORD, new_password: NEW_PASSWORD })).status).toBe(401)
    })
  })

  describe('with rate limits', () => {
    const clock = new TestClock()
    const suite = serverForSuite(backend, { rateLimit: { perAccount: { max: 3, windowSeconds: 900 } }, now: clock.now })

    test('deletion removes the email from the rate-limit keys and from the audit rows written before the account existed', async () => {
      const base = suite.server.url
      const db = suite.server.db
      const email = uniqueEmail('limits')
      // An unknown address over its limit: a rate_limited row naming it by a keyed digest.
      for (let i = 0; i < 4; i++) await signIn(base, email, `guess ${i}`)
      const digest = suite.server.service.accountDigest(email)
      const before = (await listAuditEvents(db, { type: 'rate_limited' })).filter((e) => e.detail?.account === digest)
      expect(before).toHaveLength(1)
      clock.advance(2 * 900 + 1) // past the sliding window and the one before it
      const a = await signUp(base, email)
      expect((await deleteAccount(base, a, { password: 'one wrong guess' })).status).toBe(403)
      const keysWithEmail = async () => (await db.selectFrom('rate_limits').select('key').execute()).filter((r) => r.key.includes(email))
      expect((await keysWithEmail()).length).toBeGreaterThan(0)
      expect((await deleteAccount(base, a, { password: PASSWORD })).status).toBe(200)
      expect(await keysWithEmail()).toEqual([])
      const after = (await listAuditEvents(db, { type: 'rate_limited' })).filter((e) => e.detail?.account === digest)
      expect(after).toEqual([])
      expect(JSON.stringify(await listAuditEvents(db))).not.toContain(digest)
    })

    test('wrong passwords at deletion count like sign-in failures: over the limit 429, even with the right password, and sign-in is limited too', async () => {
      const base = suite.server.url
      const a = await signUp(base)
      for (let i = 0; i < 3; i++) expect((await deleteAccount(base, a, { password: `wrong guess ${i}` })).status).toBe(403)
      const limited = await deleteAccount(base, a, { password: PASSWORD })
      expect(limited.status).toBe(429)
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/)
      expect((await signIn(base, a.email)).status).toBe(429)
      expect((await changePassword(base, a, { current_password: PASSWORD, new_password: NEW_PASSWORD })).status).toBe(429)
      expect((await getMe(base, a.access_token)).status).toBe(200)
      expect((await postForm(base, '/account/delete', { email: a.email, password: PASSWORD, confirm: 'yes' })).status).toBe(429)
    })
  })

  // PGlite is one process (its folder is locked): two servers need PostgreSQL.
  if (backend.name === 'postgres') describe('two server processes on one database', () => {
    test("a deletion on one is refused by the other's endpoints once the notification arrives", async () => {
      const tdb: TestDatabase = await backend.create()
      const one = await startTestServer(tdb, { rateLimit: false, issuer: 'http://latchkey.test' })
      const two = await startTestServer(tdb, { rateLimit: false, issuer: 'http://latchkey.test' })
      try {
        const a = await signUp(one.url)
        const b = await pairOf(await signIn(two.url, a.email))
        expect((await getMe(two.url, a.access_token)).status).toBe(200)
        expect((await deleteAccount(one.url, a, { password: PASSWORD })).status).toBe(200)
        await until(async () => (await getMe(two.url, a.access_token)).status === 401)
        expect((await getMe(two.url, b.access_token)).status).toBe(401)
        expect((await refresh(two.url, b.refresh_token)).status).toBe(400)
      } finally {
        await one.close()
        await two.close()
        await tdb.cleanup()
      }
    })
  })
})

describe.each(testBackends())('a sign-in racing a deletion on $name', (backend) => {
  // The next verification after arming the gate is held (after it ran) until released.
  let gate: { entered: () => void; wait: Promise<void> } | undefined
  const passwords = createPasswordHasher({
    concurrency: 2,
    queueTimeoutMs: 600_000,
    argon2: {
      hash: hashPassword,
      verify: async (hash: string, password: string) => {
        const g = gate
        gate = undefined
        const ok = await verifyPassword(hash, password)
        if (g) {
          g.entered()
          await g.wait
        }
        return ok
      },
    },
  })
  const suite = serverForSuite(backend, { rateLimit: false, passwords })

  test('a sign-in whose password was checked before the account was deleted answers 401, not 500, and creates no session', async () => {
    const base = suite.server.url
    const a = await signUp(base)
    let release!: () => void
    let entered!: () => void
    const reached = new Promise<void>((r) => (entered = r))
    gate = { entered, wait: new Promise<void>((r) => (release = r)) }
    const late = signIn(base, a.email)
    await reached
    expect((await deleteAccount(base, a, { password: PASSWORD })).status).toBe(200)
    release()
    const res = await late
    expect(res.status, await res.clone().text()).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'invalid_credentials' })
  })
})
