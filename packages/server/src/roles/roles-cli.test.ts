// Issue 15: `latchkey-server roles grant|revoke|list` as a real command against real server
// processes: on a PGlite folder the running server does it over its admin socket; on PostgreSQL the
// command writes the database and two server processes both check the change on their next request.
import { execFile } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createPgliteDir, createPostgresDatabase, type TestDatabase } from '../test-support/databases.js'
import { cliPath, ensureBuilt, spawnServer, type ServerProcess } from '../test-support/process.js'
import { getMe, signUp } from '../test-support/server.js'
import { until } from '../test-support/until.js'

const pgUrl = process.env.LATCHKEY_TEST_DATABASE_URL
/** How long a server process may take to become ready on a loaded machine (not a speed check). */
const STARTUP_BOUND_MS = 170_000

function cli(env: Record<string, string | undefined>, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({ code, out: `${stdout}${stderr}` })
    })
  })
}

const rolesOnMe = async (base: string, token: string) => ((await (await getMe(base, token)).json()) as { roles: string[] }).roles

const adminUsers = (base: string, token: string) => fetch(`${base}/admin/users`, { headers: { authorization: `Bearer ${token}` } })

describe('roles CLI on a PGlite folder held by a running server (admin socket)', () => {
  let tdb: TestDatabase
  let server: ServerProcess
  let env: Record<string, string | undefined>
  beforeAll(async () => {
    ensureBuilt()
    tdb = createPgliteDir()
    env = { PORT: '0', DATA_DIR: tdb.dataDir, LATCHKEY_ISSUER: 'http://latchkey.test', LATCHKEY_RATE_LIMIT: 'off' }
    server = await spawnServer([cliPath], env, undefined, STARTUP_BOUND_MS)
  }, STARTUP_BOUND_MS + 10_000)
  afterAll(async () => {
    await server?.stop()
    await tdb?.cleanup()
  })

  test('grant, list, revoke: the running server applies each, and its admin route follows at once', async () => {
    const user = await signUp(server.url)
    expect((await adminUsers(server.url, user.access_token)).status).toBe(403)
    expect(await rolesOnMe(server.url, user.access_token)).toEqual([]) // now kept by the server (feed/user-facts.ts)
    const granted = await cli(env, 'roles', 'grant', user.email, 'admin')
    expect(granted.code, granted.out).toBe(0)
    expect(granted.out).toContain(`${user.email}: granted admin; roles now admin`)
    expect(granted.out).toMatch(/by the running server, pid \d+/)
    expect((await adminUsers(server.url, user.access_token)).status).toBe(200)
    // Heard from PGlite's own notification (migration 10) before the command's answer: no waiting.
    expect(await rolesOnMe(server.url, user.access_token)).toEqual(['admin'])
    const listed = await cli(env, 'roles', 'list', user.email)
    expect(listed.out).toContain(`${user.email}: admin`)
    const revoked = await cli(env, 'roles', 'revoke', user.email, 'admin')
    expect(revoked.code, revoked.out).toBe(0)
    expect(revoked.out).toContain('revoked admin; roles now (none)')
    expect((await adminUsers(server.url, user.access_token)).status).toBe(403)
    expect(await rolesOnMe(server.url, user.access_token)).toEqual([])
  }, 120_000)

  test('bad input: exit code and a clear message, nothing changed', async () => {
    const user = await signUp(server.url)
    const badRole = await cli(env, 'roles', 'grant', user.email, 'Admin!')
    expect(badRole.code).toBe(1)
    expect(badRole.out).toContain('a role is 1 to 32 characters')
    const unknown = await cli(env, 'roles', 'grant', 'nobody@example.com', 'admin')
    expect(unknown.code).toBe(1)
    expect(unknown.out).toContain('no account has the email')
    const usage = await cli(env, 'roles', 'promote', user.email)
    expect(usage.code).toBe(2)
    expect(usage.out).toContain('usage: latchkey-server roles grant')
    expect((await cli(env, 'roles', 'list', user.email)).out).toContain(`${user.email}: (none)`)
  }, 120_000)
})

describe('roles CLI on a PGlite folder no server holds', () => {
  test('the command opens the folder itself; the next server start sees the role', async () => {
    ensureBuilt()
    const tdb = createPgliteDir()
    const env = { PORT: '0', DATA_DIR: tdb.dataDir, LATCHKEY_ISSUER: 'http://latchkey.test', LATCHKEY_RATE_LIMIT: 'off' }
    try {
      let server = await spawnServer([cliPath], env, undefined, STARTUP_BOUND_MS)
      const user = await signUp(server.url)
      expect(await server.stop()).toBe(0)
      const granted = await cli(env, 'roles', 'grant', user.email, 'admin')
      expect(granted.code, granted.out).toBe(0)
      expect(granted.out).toContain('granted admin')
      expect(granted.out).not.toContain('by the running server')
      server = await spawnServer([cliPath], env, undefined, STARTUP_BOUND_MS)
      try {
        expect((await adminUsers(server.url, user.access_token)).status).toBe(200)
      } finally {
        await server.stop()
      }
    } finally {
      await tdb.cleanup()
    }
  }, 2 * STARTUP_BOUND_MS + 60_000)
})

describe.skipIf(!pgUrl)('roles CLI on PostgreSQL with two server processes', () => {
  let tdb: TestDatabase
  let a: ServerProcess
  let b: ServerProcess
  let env: Record<string, string | undefined>
  beforeAll(async () => {
    ensureBuilt()
    tdb = await createPostgresDatabase(pgUrl!)
    env = { PORT: '0', DATABASE_URL: tdb.databaseUrl, LATCHKEY_ISSUER: 'http://latchkey.test', LATCHKEY_RATE_LIMIT: 'off' }
    a = await spawnServer([cliPath], env, undefined, STARTUP_BOUND_MS)
    b = await spawnServer([cliPath], env, undefined, STARTUP_BOUND_MS)
  }, 2 * STARTUP_BOUND_MS + 10_000)
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await tdb?.cleanup()
  })

  test('a grant and a revoke made by the command are checked by both processes on their next request', async () => {
    const user = await signUp(a.url)
    expect(await rolesOnMe(a.url, user.access_token)).toEqual([])
    expect(await rolesOnMe(b.url, user.access_token)).toEqual([])
    const granted = await cli(env, 'roles', 'grant', user.email, 'admin')
    expect(granted.code, granted.out).toBe(0)
    expect((await adminUsers(a.url, user.access_token)).status).toBe(200)
    expect((await adminUsers(b.url, user.access_token)).status).toBe(200)
    const revoked = await cli(env, 'roles', 'revoke', user.email, 'admin')
    expect(revoked.code, revoked.out).toBe(0)
    // No waiting for a notification: the route reads the current roles.
    expect((await adminUsers(a.url, user.access_token)).status).toBe(403)
    expect((await adminUsers(b.url, user.access_token)).status).toBe(403)
  }, 120_000)

  test("/me on both processes follows the command's grant and revoke once the notification arrives (migration 10)", async () => {
    const user = await signUp(a.url)
    expect(await rolesOnMe(a.url, user.access_token)).toEqual([])
    expect(await rolesOnMe(b.url, user.access_token)).toEqual([])
    expect((await cli(env, 'roles', 'grant', user.email, 'editor')).code).toBe(0)
    const granted = performance.now()
    await until(async () => (await rolesOnMe(a.url, user.access_token)).includes('editor') && (await rolesOnMe(b.url, user.access_token)).includes('editor'))
    const grantMs = performance.now() - granted
    expect((await cli(env, 'roles', 'revoke', user.email, 'editor')).code).toBe(0)
    const revoked = performance.now()
    await until(async () => (await rolesOnMe(a.url, user.access_token)).length === 0 && (await rolesOnMe(b.url, user.access_token)).length === 0)
    console.info(`/me on both processes showed the grant ${grantMs.toFixed(1)} ms and the revoke ${(performance.now() - revoked).toFixed(1)} ms after the command exited`)
  }, 120_000)
})
