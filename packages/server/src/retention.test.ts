// Pruning keeps every table bounded: expired rate-limit windows, audit events past retention and
// sessions ended longer ago than that are deleted; everything still needed stays and keeps working.
import { describe, expect, test } from 'vitest'
import { countAuditEvents } from './store/audit.js'
import { testBackends } from './test-support/databases.js'
import { PASSWORD, TestClock, getMe, serverForSuite, postJson, refresh, sidOf, signUp, startTestServer, uniqueEmail, type Pair } from './test-support/server.js'

const RETENTION = 1000
const IDLE = 5000
const MAX = 20_000
const WINDOW = 60

describe.each(testBackends())('retention on $name', (backend) => {
  const clock = new TestClock()
  const suite = serverForSuite(backend, {
      now: clock.now,
      retention: RETENTION,
      sessionIdle: IDLE,
      sessionMax: MAX,
      pruneInterval: 0, // pruned by hand below
      rateLimit: { perAccount: { max: 3, windowSeconds: WINDOW }, perIp: { max: 1000, windowSeconds: WINDOW } },
    })

  const sessionExists = async (sid: string) => (await suite.server.db.selectFrom('sessions').select('id').where('id', '=', sid).executeTakeFirst()) !== undefined
  const rateRow = (key: string) => suite.server.db.selectFrom('rate_limits').select(['key', 'count']).where('key', 'like', `%${key}%`).executeTakeFirst()

  test('prunes only what has expired, and the server keeps answering 4xx for what is gone', async () => {
    const base = suite.server.url
    clock.freeze()
    const live = await signUp(base)
    const ended = await signUp(base)
    expect((await postJson(base, '/auth/sign-out', {}, { authorization: `Bearer ${ended.access_token}` })).status).toBe(200)
    const victim = uniqueEmail('victim')
    for (let i = 0; i < 2; i++) expect((await postJson(base, '/auth/sign-in', { email: victim, password: `wrong-${i}-password` })).status).toBe(401)
    const auditBefore = await countAuditEvents(suite.server.db, 'sign_up')
    expect(auditBefore).toBeGreaterThanOrEqual(2)

    // The sign-ups' verification messages (issue 13) are sent (to the log here) before time moves.
    await suite.server.email.outbox.idle()
    const mail = (to: string[]) => suite.server.db.selectFrom('email_outbox').select('id').where('to_address', 'in', to).execute()
    const codes = (to: string[]) => suite.server.db.selectFrom('email_codes').innerJoin('users', 'users.id', 'email_codes.user_id').select('email_codes.id').where('users.email', 'in', to).execute()
    expect(await mail([live.email, ended.email])).toHaveLength(2)
    expect(await codes([live.email, ended.email])).toHaveLength(2)

    // Inside every window: nothing goes.
    clock.advance(WINDOW / 2)
    expect(await suite.server.service.prune()).toEqual({ rateLimits: 0, auditEvents: 0, sessions: 0, dpopProofs: 0, emailOutbox: 0, emailCodes: 0 })
    expect((await rateRow(victim))?.count).toBe(2)

    // The rate-limit window and the one after it (the sliding estimate) have passed; the ended
    // session and the audit are still within retention.
    clock.advance(WINDOW)
    expect((await suite.server.service.prune()).rateLimits).toBe(0)
    clock.advance(WINDOW)
    const first = await suite.server.service.prune()
    expect(first.rateLimits).toBeGreaterThanOrEqual(2) // the account key and the IP key at least
    expect(first.sessions).toBe(0)
    expect(await rateRow(victim)).toBeUndefined()
    expect(await sessionExists(sidOf(ended.access_token))).toBe(true)

    // Keep the live session in use, then pass the retention period.
    const rotated = (await (await refresh(base, live.refresh_token)).json()) as Pair
    clock.advance(RETENTION)
    const second = await suite.server.service.prune()
    expect(second.sessions).toBe(1)
    expect(second.auditEvents).toBeGreaterThanOrEqual(auditBefore)
    expect(await sessionExists(sidOf(ended.access_token))).toBe(false)
    expect(await sessionExists(sidOf(live.access_token))).toBe(true)
    // The sent verification messages (they name the address) and the expired codes are gone too.
    expect(await mail([live.email, ended.email])).toHaveLength(0)
    expect(await codes([live.email, ended.email])).toHaveLength(0)
    // What is gone answers as any ended session: 400 invalid_grant, never 500.
    const gone = await refresh(base, ended.refresh_token)
    expect(gone.status).toBe(400)
    expect(await gone.json()).toMatchObject({ error: 'invalid_grant' })
    // What stays works.
    const next = await refresh(base, rotated.refresh_token)
    expect(next.status).toBe(200)
    expect((await getMe(base, ((await next.json()) as Pair).access_token)).status).toBe(200)
    expect((await postJson(base, '/auth/sign-in', { email: live.email, password: PASSWORD })).status).toBe(200)

    // A session unused past its idle lifetime is deleted once retention has passed after that.
    clock.advance(IDLE + 1)
    expect((await suite.server.service.prune()).sessions).toBe(0) // expired, but only just
    clock.advance(RETENTION)
    expect((await suite.server.service.prune()).sessions).toBeGreaterThanOrEqual(1)
    expect(await sessionExists(sidOf(live.access_token))).toBe(false)
    clock.unfreeze()
  })

  test('the schedule runs on its own and close() waits for it', async () => {
    const ownDb = await backend.create()
    const own = await startTestServer(ownDb, { pruneInterval: 0.05, retention: 1 })
    try {
      const { access_token } = await signUp(own.url)
      await postJson(own.url, '/auth/sign-out', {}, { authorization: `Bearer ${access_token}` })
      // Polls until the scheduled prune has run; bounded by the test's timeout, not a wall deadline (finding 17).
      while ((await own.db.selectFrom('sessions').select('id').execute()).length > 0) await new Promise((r) => setTimeout(r, 100))
      expect(await own.db.selectFrom('sessions').select('id').execute()).toEqual([])
    } finally {
      await own.close()
      await ownDb.cleanup()
    }
  })
})
