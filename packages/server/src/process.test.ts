import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { connect } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createPostgresDatabase, type TestDatabase } from './test-support/databases.js'
import { cliPath, ensureBuilt, repoRoot, serverScript, spawnServer, type ServerProcess } from './test-support/process.js'
import { PASSWORD, refresh, sidOf, signUp, type Pair } from './test-support/server.js'

beforeAll(() => ensureBuilt(), 180_000)

/** How long a server process may take to become ready on a loaded machine (not a speed check). */
const STARTUP_BOUND_MS = 170_000

describe('`npm run server` (scripts/server.mjs) with no configuration', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'latchkey-clean-'))
  let s: ServerProcess
  // Finding 17: the start is awaited as an event ("listening on") with a generous bound of its
  // own; each test's budget starts from the server's readiness, not from the spawn.
  beforeAll(async () => {
    // Only PORT=0, so the test never collides with a server someone runs on 8787.
    s = await spawnServer([serverScript], { PORT: '0' }, cwd, STARTUP_BOUND_MS)
  }, STARTUP_BOUND_MS + 10_000)
  afterAll(async () => {
    await s?.stop('SIGKILL')
    rmSync(cwd, { recursive: true, force: true })
  })

  test('starts, prints the URL, serves /health, and on SIGTERM answers the request in flight before exiting 0', async () => {
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(s.output()).toContain(`PGlite in ${join(cwd, 'data')}`)
    expect(await (await fetch(`${s.url}/health`)).json()).toEqual({ ok: true })
    // A request in flight when SIGTERM arrives still gets its answer. "In flight" is an event, not
    // a delay: the server's `100 Continue` proves it has the request; its body is sent after the signal.
    const body = JSON.stringify({ email: 'late@example.com', password: PASSWORD })
    const inflight = await openRequest(s.url, '/auth/sign-up', body)
    await inflight.continued
    const code = s.stop('SIGTERM')
    inflight.sendBody()
    expect(await inflight.status).toBe(201)
    expect(await code).toBe(0)
  })
})

/** A raw HTTP/1.1 POST with `Expect: 100-continue`: `continued` resolves when the server has taken the request. */
async function openRequest(base: string, path: string, body: string) {
  const { hostname, port } = new URL(base)
  const socket = connect(Number(port), hostname)
  let received = ''
  let onData = () => {}
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1')
    onData()
  })
  const until = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      onData = () => {
        const m = re.exec(received)
        if (m) resolve(m)
      }
      socket.once('close', () => reject(new Error(`connection closed; received ${JSON.stringify(received)}`)))
      onData()
    })
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
  )
  const continued = until(/^HTTP\/1\.1 100 /)
  return {
    continued,
    sendBody: () => socket.write(body),
    status: continued.then(() => until(/HTTP\/1\.1 (?!100)(\d{3}) /)).then((m) => Number(m[1])),
  }
}

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
    ;[a, b] = await Promise.all([spawnServer([cliPath], env, undefined, STARTUP_BOUND_MS), spawnServer([cliPath], env, undefined, STARTUP_BOUND_MS)])
  }, STARTUP_BOUND_MS + 10_000)
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
