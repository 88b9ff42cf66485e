// Starting Latchkey servers for the server scenarios: PGlite in a temporary data folder (the
// embedded default) or PostgreSQL in a throwaway database, in one or more processes.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startChild } from './children.mjs'
import { createDatabase } from './pg.mjs'

export const PASSWORD = 'correct horse battery staple'

/** The Bun runtime installed from npm (devDependency `bun`), for `runtime: 'bun'`. */
export const BUN = fileURLToPath(new URL('../../node_modules/.bin/bun', import.meta.url))

/**
 * engine 'pglite' | 'postgres'; processes ≥ 1 (PGlite is an in-process database: one process
 * only); serverDir: another tree's built packages/server to start instead of this tree's;
 * runtime 'node' (default) | 'bun': the JavaScript runtime of the server processes.
 * Returns { urls, first, all, close() }.
 */
export async function startLatchkey({ engine, processes = 1, tag, serverDir, runtime = 'node', ...options }) {
  const execPath = runtime === 'bun' ? BUN : undefined
  if (engine === 'pglite' && processes !== 1) throw new Error('PGlite is embedded in one process; it cannot be shared by two')
  let cleanup
  let storage
  if (engine === 'pglite') {
    const dir = mkdtempSync(join(os.tmpdir(), 'latchkey-bench-pglite-'))
    storage = { dataDir: join(dir, 'data') }
    cleanup = async () => rmSync(dir, { recursive: true, force: true })
  } else {
    const db = await createDatabase(tag ?? 'server')
    storage = { databaseUrl: db.url }
    cleanup = () => db.drop()
  }
  const all = []
  try {
    // One after the other: the first creates the schema, keys and MAC secret.
    for (let i = 0; i < processes; i++) all.push(await startChild('latchkey-child.mjs', { rateLimit: false, ...options, ...storage }, { env: { LATCHKEY_BENCH_SERVER_DIR: serverDir ?? '' }, execPath }))
  } catch (e) {
    await Promise.all(all.map((c) => c.stop()))
    await cleanup()
    throw e
  }
  return {
    first: all[0],
    all,
    urls: all.map((c) => c.info.url),
    // PostgreSQL only: the throwaway database's URL (a resource server following the revocation feed).
    databaseUrl: storage.databaseUrl,
    async close() {
      await Promise.all(all.map((c) => c.stop()))
      await cleanup()
    },
  }
}

/** A signed-in session's token response (one Argon2id hash for the sign-up). */
export async function signUp(url, email, password = PASSWORD) {
  const res = await fetch(`${url}/auth/sign-up`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  })
  if (!res.ok) throw new Error(`sign-up answered ${res.status}: ${await res.text()}`)
  return res.json()
}
