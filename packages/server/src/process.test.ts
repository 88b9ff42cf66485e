import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createPostgresDatabase, type TestDatabase } from './test-support/databases.js'
import { cliPath, ensureBuilt, repoRoot, serverScript, spawnServer, type ServerProcess } from './test-support/process.js'
import { PASSWORD, refresh, sidOf, signUp, type Pair } from './test-support/server.js'

beforeAll(() => ensureBuilt(), 180_000)

test('`npm run server` (scripts/server.mjs) starts with no configuration, prints the URL, serves /health, stops on SIGTERM', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'latchkey-clean-'))
  // Only PORT=0, so the test never collides with a server someone runs on 8787.
  const s = await spawnServer([serverScript], { PORT: '0' }, cwd)
  try {
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(s.output()).toContain(`PGlite in ${join(cwd, 'data')}`)
    expect(await (await fetch(`${s.url}/health`)).json()).toEqual({ ok: true })
    // A request in flight when SIGTERM arrives still gets its answer.
    const inflight = fetch(`${s.url}/auth/sign-up`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'late@example.com', password: PASSWORD }) })
    await new Promise((r) => setTimeout(r, 5))
    const code = s.stop('SIGTERM')
    expect((await inflight).status).toBe(201)
    expect(await code).toBe(0)
  } finally {
    await s.stop('SIGKILL')
    rmSync(cwd, { recursive: true, force: true })
  }
})

test.each([
  [{ LATCHKEY_ACCESS_TTL: 'ten minutes' }, /configuration error: LATCHKEY_ACCESS_TTL must be a duration/],
  [{ LATCHKEY_TRUST_PROXY: 'maybe' }, /configuration error: LATCHKEY_TRUST_PROXY must be on or off/],
  [{ LATCHKEY_STATIC_DIR: '/nonexistent/latchkey-web' }, /configuration error: LATCHKEY_STATIC_DIR must be an existing folder/],
])('a bad configuration value (%o) exits 1 with a message naming the variable', (env, message) => {
  let err: { status: number; stderr: Buffer } | undefined
  try {
    execFileSync(process.execPath, [cliPath], { cwd: repoRoot, env: { PATH: process.env.PATH, ...env }, stdio: 'pipe' })
  } catch (e) {
    err = e as typeof err
  }
  expect(err?.status).toBe(1)
  expect(err?.stderr.toString()).toMatch(message)
})

const pgUrl = process.env.LATCHKEY_TEST_DATABASE_URL

describe.skipIf(!pgUrl)('two server processes on one PostgreSQL', () => {
  let tdb: TestDatabase
  let a: ServerProcess
  let b: ServerProcess
  const issuer = 'http://latchkey.test'

  beforeAll(async () => {
    tdb = await createPostgresDatabase(pgUrl!)
    const env = { PORT: '0', DATABASE_URL: tdb.databaseUrl, LATCHKEY_ISSUER: issuer, LATCHKEY_RATE_LIMIT: 'off' }
    // Started together: migrations and key bootstrap race and must serialise on the advisory lock.
    ;[a, b] = await Promise.all([spawnServer([cliPath], env), spawnServer([cliPath], env)])
  }, 120_000)
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await tdb?.cleanup()
  })

  test('both share one key set and MAC secret: a token from one works on the other', async () => {
    const p = await signUp(a.url)
    expect((await fetch(`${b.url}/me`, { headers: { authorization: `Bearer ${p.access_token}` } })).status).toBe(200)
    const r = await refresh(b.url, p.refresh_token)
    expect(r.status).toBe(200)
    const keysA = await (await fetch(`${a.url}/.well-known/jwks.json`)).json()
    expect(await (await fetch(`${b.url}/.well-known/jwks.json`)).json()).toEqual(keysA)
  })

  test('100 concurrent refreshes with one token, split over both processes: one rotation, one new refresh token', async () => {
    const p0 = await signUp(a.url)
    const sid = sidOf(p0.access_token)
    const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => refresh(i % 2 ? a.url : b.url, p0.refresh_token)))
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as Pair[]
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200))
    expect(new Set(bodies.map((x) => x.refresh_token)).size).toBe(1)
    const client = new pg.Client({ connectionString: tdb.databaseUrl })
    await client.connect()
    try {
      const { rows } = await client.query('select counter, revoked_at from sessions where id = $1', [sid])
      expect(rows[0]).toEqual({ counter: 1, revoked_at: null })
      const audit = await client.query("select type, count(*)::int as n from audit_events where session_id = $1 and type like 'refresh%' group by type order by type", [sid])
      expect(audit.rows).toEqual([
        { type: 'refresh', n: 1 },
        { type: 'refresh_grace', n: 99 },
      ])
    } finally {
      await client.end()
    }
  })
})
