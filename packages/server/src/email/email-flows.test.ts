// Issue 13: password reset and email verification by a code sent over real SMTP (an in-process
// `smtp-server`), and the outbox that loses nothing when SMTP is down or the server restarts.
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { pgliteBackend, testBackends } from '../test-support/databases.js'
import { PASSWORD, TestClock, getMe, postJson, refresh, serverForSuite, signUp, startTestServer, uniqueEmail, type Pair } from '../test-support/server.js'
import { DpopKey } from '../test-support/dpop.js'
import { TestSmtp, codeOf } from '../test-support/smtp.js'
import { CODE_ATTEMPTS, CODE_MINUTES } from './codes.js'
import { REQUESTS_PER_ADDRESS } from './flows.js'

const NEW_PASSWORD = 'a brand new passphrase 42'
const FROM = 'Latchkey Test <no-reply@example.test>'

describe.each(testBackends())('email flows on $name', (backend) => {
  const smtp = new TestSmtp()
  const clock = new TestClock()
  beforeAll(() => smtp.start())
  afterAll(() => smtp.stop())
  const suite = serverForSuite(backend, {
    get smtpUrl() {
      return smtp.url
    },
    mailFrom: FROM,
    now: clock.now,
    rateLimit: { perIp: { max: 10_000, windowSeconds: 900 } },
  })
  const base = () => suite.server.url
  const requestReset = (email: string) => postJson(base(), '/auth/password-reset/request', { email })
  const complete = (email: string, code: string, password = NEW_PASSWORD) => postJson(base(), '/auth/password-reset/complete', { email, code, new_password: password })
  const signIn = (email: string, password: string) => postJson(base(), '/auth/sign-in', { email, password, device: 'test' })
  const resetCode = async (email: string, n = 1) => {
    expect((await requestReset(email)).status).toBe(202)
    return codeOf(await smtp.waitFor(email, n))
  }
  const wrong = (code: string) => String((Number(code) + 1) % 100_000_000).padStart(8, '0')

  test('the reset code arrives over SMTP, sets the new password and ends every session at once; the code works once', async () => {
    const a = await signUp(base())
    const other = (await (await signIn(a.email, PASSWORD)).json()) as Pair
    const mail = await smtp.waitFor(a.email)
    expect(mail.raw).toMatch(/^From: Latchkey Test <no-reply@example\.test>/m)
    expect(mail.raw).toMatch(/text\/plain/)
    expect(mail.raw).toMatch(/text\/html/)
    const code = await resetCode(a.email, 2) // the first message is the sign-up's verification
    const res = await complete(a.email, code)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true, signedOut: 2 })
    for (const p of [a, other]) {
      expect((await getMe(base(), p.access_token)).status).toBe(401)
      expect((await refresh(base(), p.refresh_token)).status).toBe(400)
    }
    expect((await signIn(a.email, PASSWORD)).status).toBe(401)
    expect((await signIn(a.email, NEW_PASSWORD)).status).toBe(200)
    // Used: refused, and the password stays.
    const again = await complete(a.email, code, 'yet another passphrase 77')
    expect(again.status).toBe(400)
    expect(await again.json()).toMatchObject({ error: 'invalid_code' })
    expect((await signIn(a.email, NEW_PASSWORD)).status).toBe(200)
    const audit = await suite.server.db.selectFrom('audit_events').select('type').where('type', 'like', 'password_reset%').execute()
    expect(audit.map((r) => r.type)).toEqual(expect.arrayContaining(['password_reset_requested', 'password_reset', 'password_reset_failed']))
  })

  test('an unknown address gets the same status and body, and no message', async () => {
    const known = await signUp(base())
    const unknown = uniqueEmail('nobody')
    const r1 = await requestReset(known.email)
    const r2 = await requestReset(unknown)
    expect(r2.status).toBe(r1.status)
    expect(await r2.text()).toBe(await r1.text())
    await smtp.waitFor(known.email, 2)
    await suite.server.email.outbox.idle()
    expect(smtp.to(unknown)).toHaveLength(0)
    const res = await complete(unknown, '12345678')
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'invalid_code' })
  })

  test(`wrong guesses are limited: after ${CODE_ATTEMPTS} the right code is dead too`, async () => {
    const a = await signUp(base())
    const code = await resetCode(a.email, 2)
    for (let i = 0; i < CODE_ATTEMPTS; i++) expect((await complete(a.email, wrong(code))).status).toBe(400)
    expect((await complete(a.email, code)).status).toBe(400)
    expect((await signIn(a.email, PASSWORD)).status).toBe(200)
    // A new code works.
    const fresh = await resetCode(a.email, 3)
    expect((await complete(a.email, fresh)).status).toBe(200)
  })

  test('a code expires after its minutes (injected clock); only the newest code is valid', async () => {
    const a = await signUp(base())
    const first = await resetCode(a.email, 2)
    const second = await resetCode(a.email, 3)
    if (first !== second) expect((await complete(a.email, first)).status).toBe(400)
    clock.advance(CODE_MINUTES * 60 + 1)
    try {
      expect((await complete(a.email, second)).status).toBe(400)
    } finally {
      clock.advance(-(CODE_MINUTES * 60 + 1))
    }
    expect((await signIn(a.email, PASSWORD)).status).toBe(200)
  })

  test("one account's code does not reset another account", async () => {
    const a = await signUp(base())
    const b = await signUp(base())
    const codeA = await resetCode(a.email, 2)
    await resetCode(b.email, 2)
    expect((await complete(b.email, codeA)).status).toBe(400)
    expect((await signIn(b.email, PASSWORD)).status).toBe(200)
  })

  test(`a flood of reset requests for one account: at most ${REQUESTS_PER_ADDRESS.max} pass, the rest 429, as many messages`, async () => {
    const a = await signUp(base())
    await smtp.waitFor(a.email, 1)
    const statuses = await Promise.all(Array.from({ length: 20 }, () => requestReset(a.email).then((r) => r.status)))
    expect(statuses.filter((s) => s === 202)).toHaveLength(REQUESTS_PER_ADDRESS.max)
    expect(statuses.filter((s) => s === 429)).toHaveLength(20 - REQUESTS_PER_ADDRESS.max)
    await smtp.waitFor(a.email, 1 + REQUESTS_PER_ADDRESS.max)
    await suite.server.email.outbox.idle()
    expect(smtp.to(a.email)).toHaveLength(1 + REQUESTS_PER_ADDRESS.max)
    // An unknown address is limited alike (a 429 tells nothing).
    const nobody = uniqueEmail('nobody')
    const unknown = await Promise.all(Array.from({ length: 20 }, () => requestReset(nobody).then((r) => r.status)))
    expect(unknown.filter((s) => s === 202)).toHaveLength(REQUESTS_PER_ADDRESS.max)
  })

  test('email verification: a code at sign-up, email_verified in /me once the code is given', async () => {
    const a = await signUp(base())
    const bearer = { authorization: `Bearer ${a.access_token}` }
    expect(await (await getMe(base(), a.access_token)).json()).toMatchObject({ email_verified: false })
    const code = codeOf(await smtp.waitFor(a.email, 1))
    const bad = await postJson(base(), '/auth/verify-email', { code: wrong(code) }, bearer)
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: 'invalid_code' })
    expect((await postJson(base(), '/auth/verify-email', { code: 'abc' }, bearer)).status).toBe(400)
    expect((await postJson(base(), '/auth/verify-email', { code }, bearer)).status).toBe(200)
    expect(await (await getMe(base(), a.access_token)).json()).toMatchObject({ email_verified: true })
    // The access-token claim: false in the token from sign-up, true from the next refresh on.
    expect(decodeJwt(a.access_token).email_verified).toBe(false)
    const refreshed = await refresh(base(), a.refresh_token)
    expect(refreshed.status).toBe(200)
    expect(decodeJwt(((await refreshed.json()) as { access_token: string }).access_token).email_verified).toBe(true)
    const again = await postJson(base(), '/auth/verify-email/request', {}, bearer)
    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({ alreadyVerified: true })
  })

  test('a DPoP-bound session (RFC 9449 §7.1) requests and confirms verification with its key; Bearer and another key are refused', async () => {
    const a = await signUp(base())
    const key = await DpopKey.create()
    const htu = (path: string) => `${suite.server.issuer}${path}`
    const signIn1 = async (nonce?: string) =>
      fetch(`${base()}/auth/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', dpop: await key.proof('POST', htu('/auth/sign-in'), clock.now(), { nonce }) },
        body: JSON.stringify({ email: a.email, password: PASSWORD, device: 'phone' }),
      })
    let res = await signIn1()
    if (res.status === 400 && res.headers.get('dpop-nonce')) res = await signIn1(res.headers.get('dpop-nonce')!)
    expect(res.status).toBe(200)
    const pair = (await res.json()) as Pair
    expect(pair.token_type).toBe('DPoP')
    const withKey = async (path: string, body: Record<string, string>, k: DpopKey = key) =>
      postJson(base(), path, body, { authorization: `DPoP ${pair.access_token}`, dpop: await k.proof('POST', htu(path), clock.now(), { accessToken: pair.access_token }) })
    expect((await postJson(base(), '/auth/verify-email/request', {}, { authorization: `Bearer ${pair.access_token}` })).status).toBe(401)
    expect((await withKey('/auth/verify-email/request', {}, await DpopKey.create())).status).toBe(401)
    expect((await withKey('/auth/verify-email/request', {})).status).toBe(202)
    const code = codeOf(await smtp.waitFor(a.email, 2))
    expect((await withKey('/auth/verify-email', { code })).status).toBe(200)
    const me = await fetch(`${base()}/me`, { headers: { authorization: `DPoP ${pair.access_token}`, dpop: await key.proof('GET', htu('/me'), clock.now(), { accessToken: pair.access_token }) } })
    expect(await me.json()).toMatchObject({ email_verified: true })
  })

  test('a verification code requested again replaces the first', async () => {
    const a = await signUp(base())
    const bearer = { authorization: `Bearer ${a.access_token}` }
    const first = codeOf(await smtp.waitFor(a.email, 1))
    expect((await postJson(base(), '/auth/verify-email/request', {}, bearer)).status).toBe(202)
    const second = codeOf(await smtp.waitFor(a.email, 2))
    if (first !== second) expect((await postJson(base(), '/auth/verify-email', { code: first }, bearer)).status).toBe(400)
    expect((await postJson(base(), '/auth/verify-email', { code: second }, bearer)).status).toBe(200)
  })

  test('bad input is a clear 400', async () => {
    for (const body of [{}, { email: 'not an email' }, { email: 42 }]) {
      const res = await postJson(base(), '/auth/password-reset/request', body)
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ error: 'invalid_request' })
    }
    const res = await postJson(base(), '/auth/password-reset/complete', { email: 'a@example.com', code: 'x'.repeat(100), new_password: NEW_PASSWORD })
    expect(res.status).toBe(400)
  })
})

describe.each(testBackends())('the outbox on $name', (backend) => {
  test('SMTP down during a reset request: the request answers 202; the message is sent once SMTP is back, across a server restart, exactly once', async () => {
    const smtp = new TestSmtp()
    await smtp.start()
    const url = smtp.url
    await smtp.stop()
    const db = await backend.create()
    try {
      const options = { smtpUrl: url, mailFrom: FROM, rateLimit: false as const }
      const first = await startTestServer(db, options)
      const email = uniqueEmail()
      try {
        expect((await postJson(first.url, '/auth/sign-up', { email, password: PASSWORD, device: 'd' })).status).toBe(201)
        expect((await postJson(first.url, '/auth/password-reset/request', { email })).status).toBe(202)
        // Wait until the first attempts were made and failed.
        for (;;) {
          await first.email.outbox.idle()
          const rows = await first.db.selectFrom('email_outbox').select(['attempts', 'last_error', 'sent_at']).where('to_address', '=', email).execute()
          if (rows.length === 2 && rows.every((r) => r.attempts >= 1 && r.last_error !== null && r.sent_at === null)) break
          await new Promise((r) => setTimeout(r, 50))
        }
      } finally {
        await first.close()
      }
      await smtp.start()
      const second = await startTestServer(db, options)
      try {
        const reset = await smtp.waitFor(email, 2)
        await smtp.waitFor(email, 2)
        await second.email.outbox.idle()
        const rows = await second.db.selectFrom('email_outbox').select(['sent_at', 'lease_until', 'text_body', 'html_body']).where('to_address', '=', email).execute()
        expect(rows.every((r) => r.sent_at !== null && r.lease_until === null)).toBe(true)
        // A sent message's code is not kept in clear.
        expect(rows.every((r) => r.text_body === '' && r.html_body === '')).toBe(true)
        expect(smtp.to(email)).toHaveLength(2)
        const code = codeOf(smtp.to(email).find((m) => /reset/.test(m.raw)) ?? reset)
        expect((await postJson(second.url, '/auth/password-reset/complete', { email, code, new_password: NEW_PASSWORD })).status).toBe(200)
      } finally {
        await second.close()
      }
    } finally {
      await smtp.stop()
      await db.cleanup()
    }
  })
})

describe.each(testBackends())('requireEmailVerification on $name', (backend) => {
  const smtp = new TestSmtp()
  beforeAll(() => smtp.start())
  afterAll(() => smtp.stop())
  const suite = serverForSuite(backend, {
    get smtpUrl() {
      return smtp.url
    },
    mailFrom: FROM,
    requireEmailVerification: true,
    rateLimit: { perIp: { max: 10_000, windowSeconds: 900 } },
  })
  const base = () => suite.server.url
  const signUpRaw = (email: string) => postJson(base(), '/auth/sign-up', { email, password: PASSWORD, device: 'd' })

  test('sign-up answers alike for a new and a taken address; the owner of the taken one is told by email', async () => {
    const email = uniqueEmail()
    const first = await signUpRaw(email)
    const second = await signUpRaw(email)
    expect(first.status).toBe(202)
    expect(second.status).toBe(first.status)
    expect(await second.text()).toBe(await first.text())
    expect(codeOf(await smtp.waitFor(email, 1))).toMatch(/^\d{8}$/)
    expect((await smtp.waitFor(email, 2)).raw).toMatch(/someone tried to sign up/i)
  })

  test('sign-in is refused until the code is given; then it works', async () => {
    const email = uniqueEmail()
    expect((await signUpRaw(email)).status).toBe(202)
    const refused = await postJson(base(), '/auth/sign-in', { email, password: PASSWORD })
    expect(refused.status).toBe(403)
    expect(await refused.json()).toMatchObject({ error: 'email_not_verified' })
    // A wrong password says nothing about verification.
    expect((await postJson(base(), '/auth/sign-in', { email, password: 'wrong password 123' })).status).toBe(401)
    const code = codeOf(await smtp.waitFor(email, 1))
    expect((await postJson(base(), '/auth/verify-email', { email, code: code === '00000000' ? '00000001' : '00000000' })).status).toBe(400)
    expect((await postJson(base(), '/auth/verify-email', { email: uniqueEmail('nobody'), code })).status).toBe(400)
    expect((await postJson(base(), '/auth/verify-email', { email, code })).status).toBe(200)
    const ok = await postJson(base(), '/auth/sign-in', { email, password: PASSWORD })
    expect(ok.status).toBe(200)
    const pair = (await ok.json()) as Pair
    expect(await (await getMe(base(), pair.access_token)).json()).toMatchObject({ email, email_verified: true })
  })

  test('a new verification code without a session: the same answer for any address', async () => {
    const email = uniqueEmail()
    expect((await signUpRaw(email)).status).toBe(202)
    await smtp.waitFor(email, 1)
    const r1 = await postJson(base(), '/auth/verify-email/request', { email })
    const r2 = await postJson(base(), '/auth/verify-email/request', { email: uniqueEmail('nobody') })
    expect(r1.status).toBe(202)
    expect(r2.status).toBe(202)
    expect(await r2.text()).toBe(await r1.text())
    const code = codeOf(await smtp.waitFor(email, 2))
    expect((await postJson(base(), '/auth/verify-email', { email, code })).status).toBe(200)
  })
})

describe('without SMTP_URL (npm start)', () => {
  test('messages go to the server log, readable, with the code; the reset completes with it', async () => {
    const lines: string[] = []
    const logger = { info: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) }
    const db = await pgliteBackend.create()
    const server = await startTestServer(db, { logger, rateLimit: false })
    try {
      expect(lines.some((l) => /SMTP_URL is not set/.test(l))).toBe(true)
      const a = await signUp(server.url)
      expect((await postJson(server.url, '/auth/password-reset/request', { email: a.email })).status).toBe(202)
      await server.email.outbox.idle()
      let logged: string | undefined
      while (!(logged = lines.find((l) => l.includes(`To: ${a.email}`) && /password reset/.test(l)))) {
        await new Promise((r) => setTimeout(r, 20))
        await server.email.outbox.idle()
      }
      const code = /^ {4}(\d{8})$/m.exec(logged)?.[1]
      expect(code).toMatch(/^\d{8}$/)
      expect((await postJson(server.url, '/auth/password-reset/complete', { email: a.email, code, new_password: NEW_PASSWORD })).status).toBe(200)
    } finally {
      await server.close()
      await db.cleanup()
    }
  })
})
