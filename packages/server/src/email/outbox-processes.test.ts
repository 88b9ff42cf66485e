// Issue 13 with real processes: two servers on one PostgreSQL share one outbox. Messages queued
// on both while SMTP is down are all sent once SMTP is back, each exactly once (claims with
// FOR UPDATE SKIP LOCKED and a lease: email/outbox.ts).
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createPostgresDatabase, type TestDatabase } from '../test-support/databases.js'
import { cliPath, ensureBuilt, spawnServer, type ServerProcess } from '../test-support/process.js'
import { PASSWORD, postJson, uniqueEmail } from '../test-support/server.js'
import { TestSmtp } from '../test-support/smtp.js'
import { until } from '../test-support/until.js'

const pgUrl = process.env.LATCHKEY_TEST_DATABASE_URL
const STARTUP_BOUND_MS = 170_000

describe.skipIf(!pgUrl)('email outbox: two server processes on one PostgreSQL', () => {
  let tdb: TestDatabase
  let a: ServerProcess
  let b: ServerProcess
  const smtp = new TestSmtp()

  beforeAll(async () => {
    ensureBuilt()
    await smtp.start()
    const url = smtp.url
    await smtp.stop()
    tdb = await createPostgresDatabase(pgUrl!)
    const env = { PORT: '0', DATABASE_URL: tdb.databaseUrl, LATCHKEY_ISSUER: 'http://latchkey.test', LATCHKEY_RATE_LIMIT: 'off', SMTP_URL: url, MAIL_FROM: 'Latchkey <no-reply@example.test>' }
    a = await spawnServer([cliPath], env, undefined, STARTUP_BOUND_MS)
    b = await spawnServer([cliPath], env, undefined, STARTUP_BOUND_MS)
  }, 2 * STARTUP_BOUND_MS + 10_000)
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await smtp.stop()
    await tdb?.cleanup()
  })

  test('SMTP down: requests on both processes answer; once SMTP is back every message arrives exactly once', async () => {
    const emails = Array.from({ length: 8 }, () => uniqueEmail('two'))
    for (const [i, email] of emails.entries()) {
      const server = i % 2 === 0 ? a : b
      expect((await postJson(server.url, '/auth/sign-up', { email, password: PASSWORD, device: 'd' })).status).toBe(201)
      expect((await postJson(server.url, '/auth/password-reset/request', { email })).status).toBe(202)
    }
    const db = new pg.Client({ connectionString: tdb.databaseUrl })
    await db.connect()
    try {
      // Every message tried at least once while SMTP was down.
      await until(async () => (await db.query('select count(*)::int as n from email_outbox where attempts >= 1 and sent_at is null')).rows[0].n === 2 * emails.length)
      await smtp.start()
      await until(async () => (await db.query('select count(*)::int as n from email_outbox where sent_at is not null')).rows[0].n === 2 * emails.length)
    } finally {
      await db.end()
    }
    for (const email of emails) expect(smtp.to(email)).toHaveLength(2)
    const ids = smtp.received.map((m) => /^Message-ID: (\S+)/im.exec(m.raw)?.[1])
    expect(new Set(ids).size).toBe(2 * emails.length)
  })
})

describe.skipIf(!pgUrl)('email outbox: another process wakes at once (NOTIFY, migration 11)', () => {
  test("mail queued by a process that cannot send is sent by the other one, woken by the queue's notification", async () => {
    const { createPostgresDatabase: create } = await import('../test-support/databases.js')
    const { startTestServer } = await import('../test-support/server.js')
    const smtp = new TestSmtp()
    await smtp.start()
    const db = await create(pgUrl!)
    const common = { rateLimit: false as const, smtpUrl: smtp.url, mailFrom: 'Latchkey <no-reply@example.test>' }
    const a = await startTestServer(db, common)
    const b = await startTestServer(db, common)
    try {
      // A's sender is stopped: whatever A queues now can only be sent by B.
      await a.email.outbox.close()
      let wakes = 0
      const wake = b.email.outbox.wake.bind(b.email.outbox)
      b.email.outbox.wake = () => {
        wakes++
        wake()
      }
      // B's feed hears the insert's notification; the server's own listener (registered first)
      // has woken the worker by the time this one runs.
      const heard: Array<{ table: string; wakes: number }> = []
      b.revocations.onJobsQueued((table) => heard.push({ table, wakes }))
      const email = uniqueEmail('woken')
      expect((await postJson(a.url, '/auth/sign-up', { email, password: PASSWORD })).status).toBe(201)
      await until(() => heard.length > 0)
      expect(heard[0]).toEqual({ table: 'email_outbox', wakes: 1 })
      await smtp.waitFor(email, 1)
      await b.email.outbox.idle()
      expect(smtp.to(email)).toHaveLength(1)
    } finally {
      await b.close()
      await a.close()
      await db.cleanup()
      await smtp.stop()
    }
  })
})
