// The server on Node and on Bun (issue 16: "the server on Bun"): the same HTTP contract, run
// against the real CLI started under each runtime, on PGlite and on PostgreSQL: sign-up and
// sign-in (Argon2id), /me, refresh rotation with the grace answer and reuse detection, sign-out,
// and a graceful stop on SIGTERM.
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { testBackends, type TestDatabase } from './test-support/databases.js'
import { bunPath, cliPath, ensureBuilt, spawnServer, type ServerProcess } from './test-support/process.js'
import { PASSWORD, getMe, postJson, refresh, signUp, type Pair } from './test-support/server.js'

beforeAll(() => ensureBuilt(), 180_000)

/** How long a server process may take to become ready on a loaded machine (not a speed check). */
const STARTUP_BOUND_MS = 170_000

const runtimes = [
  { runtime: 'node', executable: process.execPath, banner: /; Node \d+\./ },
  { runtime: 'bun', executable: bunPath, banner: /; Bun \d+\./ },
]

describe.each(runtimes)('the server under $runtime', ({ executable, banner }) => {
  describe.each(testBackends())('on $name', (backend) => {
    let tdb: TestDatabase
    let s: ServerProcess
    beforeAll(async () => {
      tdb = await backend.create()
      const store = tdb.databaseUrl ? { DATABASE_URL: tdb.databaseUrl } : { DATA_DIR: tdb.dataDir }
      s = await spawnServer([cliPath], { PORT: '0', LATCHKEY_REFRESH_GRACE: '60', ...store }, undefined, STARTUP_BOUND_MS, executable)
    }, STARTUP_BOUND_MS + 10_000)
    afterAll(async () => {
      await s?.stop('SIGKILL')
      await tdb?.cleanup()
      if (tdb?.dataDir) rmSync(tdb.dataDir, { recursive: true, force: true })
    })

    test('it runs on the runtime under test (its start line says which)', () => {
      expect(s.output()).toMatch(banner)
    })

    test('sign-up, sign-in, /me, refresh with grace and reuse detection, sign-out', async () => {
      const a = await signUp(s.url)
      expect((await getMe(s.url, a.access_token)).status).toBe(200)
      const wrong = await postJson(s.url, '/auth/sign-in', { email: a.email, password: 'not the password' })
      expect(wrong.status).toBe(401)
      const signedIn = await postJson(s.url, '/auth/sign-in', { email: a.email, password: PASSWORD })
      expect(signedIn.status).toBe(200)

      const r1 = await refresh(s.url, a.refresh_token)
      expect(r1.status).toBe(200)
      const p1 = (await r1.json()) as Pair
      expect(p1.refresh_token).not.toBe(a.refresh_token)
      // The previous token inside the grace window gets the current pair back.
      const again = (await (await refresh(s.url, a.refresh_token)).json()) as Pair
      expect(again.refresh_token).toBe(p1.refresh_token)
      // Rotate once more: the first token is now two behind, which is reuse: the session ends.
      const p2 = (await (await refresh(s.url, p1.refresh_token)).json()) as Pair
      expect((await refresh(s.url, a.refresh_token)).status).toBe(400)
      expect((await getMe(s.url, p2.access_token)).status).toBe(401)

      const b = (await signedIn.json()) as Pair
      expect((await postJson(s.url, '/auth/sign-out', {}, { authorization: `Bearer ${b.access_token}` })).status).toBe(200)
      expect((await getMe(s.url, b.access_token)).status).toBe(401)
      expect((await refresh(s.url, b.refresh_token)).status).toBe(400)
    })

    test('bad input is a 4xx with a JSON error, never a 500', async () => {
      const res = await fetch(`${s.url}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":' })
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ error: 'invalid_request' })
    })

    test('SIGTERM stops it cleanly (exit 0)', async () => {
      expect(await s.stop('SIGTERM')).toBe(0)
    })
  })
})
