// Abuse of sign-in, from the security review of 2026-11-23 (OWASP ASVS 5.0 V6, NIST SP 800-63B
// §5.2.2): bursts past the per-account limit, locking someone else's account, an unbounded
// password-hash queue, and one audit row per refused request. Limits are checked through the
// service with explicit client addresses (how an address is resolved is not under test here).
import { describe, expect, test, vi } from 'vitest'
import { createPasswordHasher, hashPassword, verifyPassword, type Argon2Functions } from './crypto/password.js'
import { HttpError } from './http/errors.js'
import { listAuditEvents } from './store/audit.js'
import { pgliteBackend, testBackends } from './test-support/databases.js'
import { PASSWORD, TestClock, postJson, serverForSuite, signUp, uniqueEmail } from './test-support/server.js'

const WINDOW = 900
const LIMITS = {
  perAccount: { max: 10, windowSeconds: WINDOW },
  perAccountTotal: { max: 20, windowSeconds: WINDOW }, // 100 by default; 20 keeps the test short
  perIp: { max: 100_000, windowSeconds: WINDOW }, // out of the way: the account limits are under test
}

/** Real Argon2id, counting the verifications that reach it and how many ran at once. */
function countingArgon2() {
  const seen = { verifications: 0, running: 0, peak: 0 }
  const argon2: Argon2Functions = {
    hash: hashPassword,
    async verify(passwordHash, password) {
      seen.verifications++
      seen.running++
      seen.peak = Math.max(seen.peak, seen.running)
      try {
        return await verifyPassword(passwordHash, password)
      } finally {
        seen.running--
      }
    },
  }
  const reset = () => Object.assign(seen, { verifications: 0, peak: 0 })
  return { argon2, seen, reset }
}

/** A call that waits until `open()` is called. */
function gate() {
  let open!: () => void
  const opened = new Promise<void>((r) => (open = r))
  return { open, opened }
}

describe.each(testBackends())('sign-in abuse on $name', (backend) => {
  const counting = countingArgon2()
  const clock = new TestClock()
  // Four hashing slots, so that only the per-account mutex can keep one account's checks to one at a time.
  const suite = serverForSuite(backend, { now: clock.now, rateLimit: LIMITS, passwords: createPasswordHasher({ concurrency: 4, queueTimeoutMs: 600_000, argon2: counting.argon2 }) })

  /** One sign-in from `ip`: the status it is answered with, and Retry-After if any. */
  const attempt = (email: string, password: string, ip: string) =>
    suite.server.service.signIn({ email, password, device: null, ip }).then(
      () => ({ status: 200, retryAfter: undefined as number | undefined }),
      (e: unknown) => {
        if (!(e instanceof HttpError)) throw e
        return { status: e.status as number, retryAfter: e.headers['Retry-After'] === undefined ? undefined : Number(e.headers['Retry-After']) }
      },
    )
  const statuses = (rs: Array<{ status: number }>) => rs.map((r) => r.status)
  const tally = (rs: Array<{ status: number }>) => Object.fromEntries([...new Set(statuses(rs))].sort().map((s) => [s, statuses(rs).filter((x) => x === s).length]))
  const userId = async (email: string) => (await suite.server.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id

  test('parallel requests do not beat the per-account limit: 200 parallel wrong passwords, 10 reach the hash, one at a time; the rest 429', async () => {
    const { email } = await signUp(suite.server.url)
    counting.reset()
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => attempt(email, `wrong password ${i}`, '198.51.100.1')))
    expect(counting.seen.verifications).toBe(LIMITS.perAccount.max)
    expect(counting.seen.peak).toBe(1)
    expect(tally(results)).toEqual({ 401: 10, 429: 190 })
    for (const r of results.filter((x) => x.status === 429)) expect(r.retryAfter).toBeGreaterThanOrEqual(1)
  })

  test('a successful sign-in gives its counted attempt back: the owner signing in often is never limited', async () => {
    const { email } = await signUp(suite.server.url)
    const results = []
    for (let i = 0; i < 3 * LIMITS.perAccount.max; i++) results.push(await attempt(email, PASSWORD, '198.51.100.9'))
    expect(tally(results)).toEqual({ 200: 30 })
  })

  test('anyone cannot lock any account: 50 wrong passwords from address A, then the right one from B → 200, from A → 429', async () => {
    const { email } = await signUp(suite.server.url)
    const fromA = []
    for (let i = 0; i < 50; i++) fromA.push(await attempt(email, `wrong password ${i}`, '192.0.2.1'))
    expect(statuses(fromA)).toEqual([...Array(10).fill(401), ...Array(40).fill(429)])
    expect(await attempt(email, PASSWORD, '192.0.2.2')).toMatchObject({ status: 200 })
    const blocked = await attempt(email, PASSWORD, '192.0.2.1')
    expect(blocked.status).toBe(429)
    // Refused attempts are not counted, so the wait does not grow with them: at most two windows.
    expect(blocked.retryAfter).toBeGreaterThanOrEqual(1)
    expect(blocked.retryAfter).toBeLessThanOrEqual(2 * WINDOW)
  })

  test('the account-wide ceiling holds against many addresses (NIST SP 800-63B §5.2.2: at most 100 failures per account)', async () => {
    const { email } = await signUp(suite.server.url)
    counting.reset()
    // 40 addresses, 3 wrong passwords each: 120 attempts, all under the per-address limit.
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => attempt(email, `wrong password ${i}`, `203.0.113.${(i % 40) + 1}`)))
    expect(tally(results)).toEqual({ 401: LIMITS.perAccountTotal.max, 429: 120 - LIMITS.perAccountTotal.max })
    expect(counting.seen.verifications).toBe(LIMITS.perAccountTotal.max)
    expect(await attempt(email, 'yet another wrong one', '203.0.113.200')).toMatchObject({ status: 429 })
  })

  test('every 429 does not write an audit row: 100 requests over the limit → 1 rate_limited row for that key in that window, naming the account', async () => {
    const { email } = await signUp(suite.server.url)
    const id = await userId(email)
    for (let i = 0; i < 10; i++) expect((await attempt(email, `wrong password ${i}`, '198.51.100.50')).status).toBe(401)
    const over = await Promise.all(Array.from({ length: 100 }, (_, i) => attempt(email, `more wrong ${i}`, '198.51.100.50')))
    expect(tally(over)).toEqual({ 429: 100 })
    const rows = await listAuditEvents(suite.server.db, { type: 'rate_limited', userId: id })
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ userId: id, ip: '198.51.100.50', detail: { scope: 'account' } })
  })

  test('a rate_limited row for an email with no account names it by a keyed digest, never by the address itself', async () => {
    const ghost = uniqueEmail('ghost')
    for (let i = 0; i < 10; i++) expect((await attempt(ghost, `wrong password ${i}`, '198.51.100.60')).status).toBe(401)
    for (let i = 0; i < 5; i++) expect((await attempt(ghost, `wrong password ${i}`, '198.51.100.60')).status).toBe(429)
    const digest = suite.server.service.accountDigest(ghost)
    expect(digest).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(suite.server.service.accountDigest(ghost.toUpperCase())).toBe(digest)
    const rows = (await listAuditEvents(suite.server.db, { type: 'rate_limited' })).filter((r) => r.detail?.account === digest)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ userId: null, detail: { scope: 'account', account: digest } })
    expect(JSON.stringify(await listAuditEvents(suite.server.db))).not.toContain(ghost)
  })

  // Moves the suite's clock: keep it last.
  test('the next window gets its own rate_limited row (one per key per window, not one ever)', async () => {
    const { email } = await signUp(suite.server.url)
    const id = await userId(email)
    for (let i = 0; i < 11; i++) await attempt(email, `wrong password ${i}`, '198.51.100.70')
    expect(await listAuditEvents(suite.server.db, { type: 'rate_limited', userId: id })).toHaveLength(1)
    clock.advance(WINDOW + 1)
    // Just past the window the previous one still weighs almost fully (sliding estimate): refused again.
    expect((await attempt(email, 'wrong again', '198.51.100.70')).status).toBe(429)
    expect((await attempt(email, 'wrong again', '198.51.100.70')).status).toBe(429)
    expect(await listAuditEvents(suite.server.db, { type: 'rate_limited', userId: id })).toHaveLength(2)
  })
})

/** Argon2id stand-ins whose every verification waits until `held.open()`: the one slot stays busy. */
function heldHasher(): { held: ReturnType<typeof gate>; argon2: Argon2Functions } {
  const held = gate()
  return {
    held,
    argon2: {
      hash: async () => 'not a real hash',
      async verify() {
        await held.opened
        return false
      },
    },
  }
}

describe('the password-hash queue has a bound', () => {
  describe('queue cap', () => {
    const { held, argon2 } = heldHasher()
    const passwords = createPasswordHasher({ concurrency: 1, maxQueue: 4, queueTimeoutMs: 600_000, argon2 })
    const suite = serverForSuite(pgliteBackend, { passwords })

    test('with one hashing slot and a queue of 4, 1 + 4 + 3 concurrent sign-ins → 3 immediate 503 with Retry-After, the rest answered once hashing resumes; never a 500', async () => {
      const seen: number[] = []
      try {
        const responses = Array.from({ length: 1 + 4 + 3 }, () =>
          postJson(suite.server.url, '/auth/sign-in', { email: uniqueEmail('flood'), password: 'wrong password' }).then((r) => {
            seen.push(r.status)
            return r
          }),
        )
        // While the one hash in progress is held, only refusals can come back.
        await vi.waitFor(() => expect(seen).toHaveLength(3), { timeout: 30_000, interval: 20 })
        expect(seen).toEqual([503, 503, 503])
        expect(passwords.inFlight()).toEqual({ active: 1, waiting: 4, refused: 3 })
        // A refused request cost no database work: only the 5 admitted ones were counted (bench
        // server-sign-in-flood: refusals that still read and wrote made /me wait behind them on PGlite).
        const counted = await suite.server.db.selectFrom('rate_limits').select('key').where('key', 'like', 'account:%').execute()
        expect(counted).toHaveLength(5)
        held.open()
        const all = await Promise.all(responses)
        expect(all.map((r) => r.status).sort()).toEqual([401, 401, 401, 401, 401, 503, 503, 503])
        for (const r of all.filter((x) => x.status === 503)) {
          expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
          expect(await r.json()).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) })
        }
      } finally {
        held.open()
      }
    })
  })

  describe('deadline', () => {
    const { held, argon2 } = heldHasher()
    const passwords = createPasswordHasher({ concurrency: 1, maxQueue: 100, queueTimeoutMs: 200, argon2 })
    const suite = serverForSuite(pgliteBackend, { passwords })

    test('a sign-in waiting past its deadline is answered 503 with Retry-After, and its attempt is not counted as a failure', async () => {
      try {
        const email = uniqueEmail('waiting')
        const first = postJson(suite.server.url, '/auth/sign-in', { email: uniqueEmail('first'), password: 'wrong password' })
        await vi.waitFor(() => expect(passwords.inFlight().active).toBe(1), { timeout: 30_000, interval: 10 })
        const late = await postJson(suite.server.url, '/auth/sign-in', { email, password: 'wrong password' })
        expect(late.status).toBe(503)
        expect(Number(late.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
        const counters = await suite.server.db.selectFrom('rate_limits').select(['key', 'count']).where('key', 'like', `%${email}%`).execute()
        expect(counters.length).toBeGreaterThan(0)
        for (const c of counters) expect(c.count).toBe(0)
        held.open()
        expect((await first).status).toBe(401)
      } finally {
        held.open()
      }
    })
  })
})
