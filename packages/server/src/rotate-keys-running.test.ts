import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createPostgresDatabase, type TestDatabase } from './test-support/databases.js'
import { cliPath, ensureBuilt, repoRoot, spawnServer, type ServerProcess } from './test-support/process.js'
import { getMe, signUp } from './test-support/server.js'
import { until } from './test-support/until.js'

// Security review finding 7: `rotate-keys` on the default PGlite folder silently did nothing while
// the server ran (two processes wrote one data folder; the new key vanished on restart).

beforeAll(() => ensureBuilt(), 180_000)

const ISSUER = 'http://rotate-keys-running.test'

interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `latchkey-server <args>` to its end (asynchronously: the servers under test keep running). */
function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { cwd: repoRoot, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

const kidOf = (jwt: string): string => (JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid
const jwksKids = async (url: string): Promise<string[]> => ((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid)
const rotated = (stdout: string) => {
  const m = /new signing key (\S+); previous key (\S+)/.exec(stdout)
  if (!m) throw new Error(`rotate-keys printed no new key:\n${stdout}`)
  return { kid: m[1]!, previous: m[2]! }
}

describe('finding 7: one process per PGlite data folder; rotate-keys reaches the running server', () => {
  let dir: string
  const env = () => ({ PORT: '0', DATA_DIR: dir, LATCHKEY_ISSUER: ISSUER, LATCHKEY_RATE_LIMIT: 'off' })
  const running: ServerProcess[] = []
  const start = async () => {
    const s = await spawnServer([cliPath], env())
    running.push(s)
    return s
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-finding7-'))
  })
  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop('SIGKILL')))
    rmSync(dir, { recursive: true, force: true })
  })

  test('finding 7: rotate-keys against a running PGlite server: the server publishes and signs with the new key at once, tokens of the previous key still verify, the key survives a restart', async () => {
    const server = await start()
    const before = await signUp(server.url)
    const oldKid = kidOf(before.access_token)
    expect(await jwksKids(server.url)).toEqual([oldKid])

    const r = await runCli(['rotate-keys'], env())
    expect(r.code, r.stderr).toBe(0)
    const { kid, previous } = rotated(r.stdout)
    expect(previous).toBe(oldKid)
    expect(kid).not.toBe(oldKid)

    // The running server answers with the new key as soon as the command has returned.
    expect(await jwksKids(server.url)).toEqual([kid, oldKid])
    const after = await signUp(server.url)
    expect(kidOf(after.access_token)).toBe(kid)
    expect((await getMe(server.url, after.access_token)).status).toBe(200)
    expect((await getMe(server.url, before.access_token)).status).toBe(200)

    // Restart: the rotation was written to the folder, not lost.
    expect(await server.stop('SIGTERM')).toBe(0)
    const again = await start()
    expect(await jwksKids(again.url)).toEqual([kid, oldKid])
    expect(kidOf((await signUp(again.url)).access_token)).toBe(kid)
    expect((await getMe(again.url, before.access_token)).status).toBe(200)
    expect((await getMe(again.url, after.access_token)).status).toBe(200)
    expect(await again.stop('SIGTERM')).toBe(0)
    // Released on close: no lock file is left behind by a clean stop.
    expect(existsSync(join(dir, 'latchkey.lock'))).toBe(false)
  })

  test('finding 7: a second server on the same folder exits non-zero with an error naming the folder and the pid that holds it; the first keeps working', async () => {
    const first = await start()
    const pair = await signUp(first.url)
    const second = await spawnServer([cliPath], env()).then(
      (s) => {
        running.push(s)
        return undefined
      },
      (e: Error) => e.message,
    )
    expect(second, 'the second server must not start').toBeDefined()
    expect(second).toMatch(/server exited with 1 before listening/)
    expect(second).toContain(dir)
    expect(second).toContain(`pid ${first.child.pid}`)
    expect((await getMe(first.url, pair.access_token)).status).toBe(200)
    expect(await first.stop('SIGTERM')).toBe(0)
  })

  test('finding 7: a lock left by a kill -9 is taken over; rotate-keys with no server running opens the folder itself', async () => {
    const crashed = await start()
    const pair = await signUp(crashed.url)
    const lockPath = join(dir, 'latchkey.lock')
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: crashed.child.pid })
    await crashed.stop('SIGKILL')
    expect(existsSync(lockPath)).toBe(true)

    // No server: the command takes the (stale) lock, rotates in the folder and releases it.
    const r = await runCli(['rotate-keys'], env())
    expect(r.code, r.stderr).toBe(0)
    const { kid } = rotated(r.stdout)
    expect(existsSync(lockPath)).toBe(false)

    const server = await start()
    expect((await jwksKids(server.url))[0]).toBe(kid)
    expect((await getMe(server.url, pair.access_token)).status).toBe(200)
    await server.stop('SIGKILL')
    // Killed again: the next start takes the stale lock over.
    const next = await start()
    expect((await getMe(next.url, pair.access_token)).status).toBe(200)
    expect(await next.stop('SIGTERM')).toBe(0)
  })
})

const pgUrl = process.env.LATCHKEY_TEST_DATABASE_URL

describe.skipIf(!pgUrl)('finding 7: rotate-keys on PostgreSQL reaches every running server', () => {
  let tdb: TestDatabase
  let a: ServerProcess
  let b: ServerProcess
  const env = () => ({ PORT: '0', DATABASE_URL: tdb.databaseUrl!, LATCHKEY_ISSUER: ISSUER, LATCHKEY_RATE_LIMIT: 'off' })

  beforeAll(async () => {
    tdb = await createPostgresDatabase(pgUrl!)
    ;[a, b] = await Promise.all([spawnServer([cliPath], env()), spawnServer([cliPath], env())])
  }, 120_000)
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await tdb?.cleanup()
  })

  test('finding 7: two servers, one rotate-keys: both publish the new key and sign with it, without a restart; tokens of the previous key still verify on both', async () => {
    const before = await signUp(a.url)
    const oldKid = kidOf(before.access_token)
    const r = await runCli(['rotate-keys'], env())
    expect(r.code, r.stderr).toBe(0)
    const { kid, previous } = rotated(r.stdout)
    expect(previous).toBe(oldKid)

    for (const s of [a, b]) {
      await until(async () => (await jwksKids(s.url))[0] === kid)
      expect(await jwksKids(s.url)).toEqual([kid, oldKid])
      const pair = await signUp(s.url)
      expect(kidOf(pair.access_token)).toBe(kid)
      for (const t of [a, b]) {
        expect((await getMe(t.url, pair.access_token)).status).toBe(200)
        expect((await getMe(t.url, before.access_token)).status).toBe(200)
      }
    }
  }, 120_000)
})
