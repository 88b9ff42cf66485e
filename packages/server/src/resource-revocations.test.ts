// Issue 14, resource servers: a small Hono API following the auth server's revocation feed refuses
// a signed-out session's token within moments of the sign-out, not only once the token expires;
// with its feed cut it reads the session row, so the token is refused all the same.
import { Hono } from 'hono'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { requireAccessToken, type AccessTokenClaims } from './resource.js'
import { followRevocations, type RevocationFollower } from './resource-revocations.js'
import type { RunningServer } from './server.js'
import { createPostgresDatabase, type TestDatabase } from './test-support/databases.js'
import { postForm, signUp, startTestServer } from './test-support/server.js'
import { until } from './test-support/until.js'

const API = 'https://orders.example'
const postgresUrl = process.env.LATCHKEY_TEST_DATABASE_URL

describe.runIf(postgresUrl)('a resource server following the revocation feed (PostgreSQL)', () => {
  let tdb: TestDatabase
  let auth: RunningServer
  let revocations: RevocationFollower
  let api: Hono<{ Variables: { accessToken: AccessTokenClaims } }>

  beforeAll(async () => {
    tdb = await createPostgresDatabase(postgresUrl!)
    auth = await startTestServer(tdb, { rateLimit: false, resources: [API] })
    revocations = await followRevocations({ databaseUrl: tdb.databaseUrl!, accessTtl: 600 })
    // The whole resource server: one middleware, one route.
    api = new Hono<{ Variables: { accessToken: AccessTokenClaims } }>()
    api.use(requireAccessToken({ jwksUrl: `${auth.url}/.well-known/jwks.json`, issuer: auth.issuer, audience: API, maxTokenAge: 600, revocations }))
    api.get('/orders', (c) => c.json({ owner: c.get('accessToken').sub, orders: [] }))
  })
  afterAll(async () => {
    await revocations?.close()
    await auth?.close()
    await tdb?.cleanup()
  })

  const orders = (token: string) => api.request('/orders', { headers: { authorization: `Bearer ${token}` } })
  const revoke = (refreshToken: string) => postForm(auth.url, '/oauth/revoke', { token: refreshToken })

  test("a session revoked at the auth server is refused by the resource server once the notification arrives, and from then on", async () => {
    const p = await signUp(auth.url, undefined, undefined, API)
    await until(() => revocations.state() === 'live')
    expect((await orders(p.access_token)).status).toBe(200)
    expect((await revoke(p.refresh_token)).status).toBe(200)
    const answered = performance.now()
    await until(async () => (await orders(p.access_token)).status === 401)
    console.info(`the resource server refused the revoked session ${(performance.now() - answered).toFixed(1)} ms after the revocation answered`)
    await until(() => revocations.state() === 'live') // (a heartbeat may be late on a busy machine)
    const res = await orders(p.access_token)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)
  })

  test('feed cut: the resource server reads the session row until the feed is back, so a session revoked meanwhile is refused at once; live sessions still pass', async () => {
    const [p, other] = [await signUp(auth.url, undefined, undefined, API), await signUp(auth.url, undefined, undefined, API)]
    const admin = new pg.Client({ connectionString: tdb.databaseUrl })
    await admin.connect()
    try {
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name like 'latchkey-revocations-%'`)
    } finally {
      await admin.end()
    }
    await until(() => revocations.state() !== 'live')
    expect((await revoke(p.refresh_token)).status).toBe(200)
    expect((await orders(p.access_token)).status).toBe(401)
    expect((await orders(other.access_token)).status).toBe(200)
    await until(() => revocations.state() === 'live')
    expect((await orders(p.access_token)).status).toBe(401)
    expect((await orders(other.access_token)).status).toBe(200)
  })
})
