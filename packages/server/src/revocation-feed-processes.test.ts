// Issue 14 with real processes: two servers on one PostgreSQL. A session ended on one is refused by
// the other as soon as the notification arrives (the goal: within 1 s; reported, not asserted, on a
// busy machine); with the other's feed cut it is refused at once (the row is read), and the feed
// comes back caught up.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createPostgresDatabase, type TestDatabase } from './test-support/databases.js'
import { cliPath, ensureBuilt, spawnServer, type ServerProcess } from './test-support/process.js'
import { getMe, postJson, sidOf, signUp, type Pair } from './test-support/server.js'
import { until } from './test-support/until.js'

const pgUrl = process.env.LATCHKEY_TEST_DATABASE_URL
/** How long a server process may take to become ready on a loaded machine (not a speed check). */
const STARTUP_BOUND_MS = 170_000

const bearer = (p: Pair) => ({ authorization: `Bearer ${p.access_token}` })
const count = (text: string, needle: string) => text.split(needle).length - 1

describe.skipIf(!pgUrl)('revocation feed: two server processes on one PostgreSQL', () => {
  let tdb: TestDatabase
  let a: ServerProcess
  let b: ServerProcess

  beforeAll(async () => {
    ensureBuilt()
    tdb = await createPostgresDatabase(pgUrl!)
    const env = { PORT: '0', DATABASE_URL: tdb.databaseUrl, LATCHKEY_ISSUER: 'http://latchkey.test', LATCHKEY_RATE_LIMIT: 'off' }
    a = await spawnServer([cliPath], env, undefined, STARTUP_BOUND_MS)
    b = await spawnServer([cliPath], env, undefined, STARTUP_BOUND_MS)
  }, 2 * STARTUP_BOUND_MS + 10_000)
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await tdb?.cleanup()
  })

  test('a session signed out on one process is refused by the other once the notification arrives, and from then on', async () => {
    expect(b.output()).toContain('revocation feed live')
    const p = await signUp(a.url)
    expect((await getMe(b.url, p.access_token)).status).toBe(200)
    expect((await postJson(a.url, '/auth/sign-out', {}, bearer(p))).status).toBe(200)
    const answered = performance.now()
    let polls = 0
    await until(async () => {
      polls++
      return (await getMe(b.url, p.access_token)).status === 401
    })
    const refusedMs = performance.now() - answered
    for (let i = 0; i < 5; i++) expect((await getMe(b.url, p.access_token)).status).toBe(401)
    expect(b.output()).not.toContain('revocation feed lost')
    console.info(`the other process refused the signed-out session ${refusedMs.toFixed(1)} ms after the sign-out answered (${polls} requests)`)
  })

  test("feed cut (its LISTEN connection terminated): a session revoked on one process is refused by the other at once; the feed reconnects, catches up and still refuses", async () => {
    const p = await signUp(a.url)
    const other = await signUp(a.url)
    expect((await getMe(b.url, p.access_token)).status).toBe(200)
    const lost = count(b.output(), 'revocation feed lost')
    const live = count(b.output(), 'revocation feed live')
    const admin = new pg.Client({ connectionString: tdb.databaseUrl })
    await admin.connect()
    try {
      const r = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = $1', [
        `latchkey-revocations-${b.child.pid}`,
      ])
      expect(r.rowCount).toBe(1)
    } finally {
      await admin.end()
    }
    await until(() => count(b.output(), 'revocation feed lost') > lost)
    // RFC 7009 revocation of the refresh token, on the other process.
    const revoked = await fetch(`${a.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: p.refresh_token }).toString(),
    })
    expect(revoked.status).toBe(200)
    expect((await getMe(b.url, p.access_token)).status).toBe(401)
    await until(() => count(b.output(), 'revocation feed live') > live)
    expect((await getMe(b.url, p.access_token)).status).toBe(401)
    expect((await getMe(b.url, other.access_token)).status).toBe(200)
    expect(sidOf(p.access_token)).not.toBe(sidOf(other.access_token))
  })
})
