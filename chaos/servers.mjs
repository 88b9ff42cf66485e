// The server processes under test: a pair on one fresh PostgreSQL database and one on PGlite,
// each `node packages/server/dist/cli.js`, killed with SIGKILL on a seeded schedule and restarted.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

export const root = fileURLToPath(new URL('..', import.meta.url))
const cliPath = join(root, 'packages/server/dist/cli.js')

export const PG_URL = process.env.LATCHKEY_TEST_DATABASE_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'

async function admin(url, sql) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await client.query(sql)
  } finally {
    await client.end()
  }
}

/** Creates `latchkey_chaos_<pid>` next to PG_URL's database; `drop()` forces it away. */
export async function createDatabase() {
  const name = `latchkey_chaos_${process.pid}`
  await admin(PG_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await admin(PG_URL, `CREATE DATABASE ${name}`)
  const u = new URL(PG_URL)
  u.pathname = `/${name}`
  const url = u.toString()
  return { name, url, query: (sql) => admin(url, sql), drop: () => admin(PG_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) }
}

/** Whether PostgreSQL answers at PG_URL. */
export async function postgresReachable() {
  try {
    await admin(PG_URL, 'SELECT 1')
    return true
  } catch {
    return false
  }
}

/**
 * One server process slot: `start()` spawns and waits for "listening on", `kill()` sends SIGKILL
 * (an exit the harness caused), any other exit is recorded in `crashes`.
 * @param {{ name: string, group: string, env: Record<string,string>, crashes: object[], log: (line: string) => void }} o
 */
export function createServerSlot(o) {
  /** @type {import('node:child_process').ChildProcess | null} */
  let child = null
  /** Processes whose exit the harness caused (kill, stop). */
  const expected = new WeakSet()
  const slot = {
    name: o.name,
    group: o.group,
    url: /** @type {string | null} */ (null),
    up: false,
    starts: 0,
    kills: 0,
    async start() {
      const proc = spawn(process.execPath, [cliPath], { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] })
      child = proc
      slot.starts++
      let out = ''
      const keep = (d) => {
        out = (out + d.toString()).slice(-20_000)
      }
      proc.stdout.on('data', keep)
      proc.stderr.on('data', keep)
      proc.once('exit', (code, signal) => {
        if (child === proc) {
          slot.up = false
          slot.url = null
        }
        if (!expected.has(proc)) {
          o.crashes.push({ server: o.name, at: Date.now(), code, signal, output: out.slice(-2000) })
          o.log(`server ${o.name} exited unexpectedly (code ${code}, signal ${signal})`)
        }
      })
      slot.url = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${o.name} did not start in 60 s:\n${out}`)), 60_000)
        const onData = () => {
          const m = /listening on (http:\/\/\S+)/.exec(out)
          if (!m) return
          clearTimeout(timer)
          proc.stdout.off('data', onData)
          resolve(m[1])
        }
        proc.stdout.on('data', onData)
        proc.once('exit', () => {
          clearTimeout(timer)
          reject(new Error(`${o.name} exited before listening:\n${out}`))
        })
      })
      slot.up = true
    },
    /** SIGKILL, recorded as caused by the harness. Resolves once the process is gone. */
    async kill() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      const proc = child
      expected.add(proc)
      slot.up = false
      slot.kills++
      const gone = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGKILL')
      await gone
    },
    /** SIGTERM (graceful) at the end of the run. */
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      const proc = child
      expected.add(proc)
      slot.up = false
      const gone = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      await gone
      clearTimeout(t)
    },
  }
  return slot
}

/**
 * Starts the servers: `pgCount` processes on a fresh PostgreSQL database (group 'pg') and one on
 * PGlite (group 'pglite'). All share one secret and an issuer (the proxy's URL).
 */
export async function startServers({ pgCount, pglite, issuer, accessTtl, grace, log }) {
  const secret = 'chaos-secret-0123456789-abcdefghijklmnopqrstuvwxyz'
  const crashes = []
  const common = {
    PORT: '0',
    HOST: '127.0.0.1',
    LATCHKEY_ISSUER: issuer,
    LATCHKEY_SECRET: secret,
    LATCHKEY_ACCESS_TTL: String(accessTtl),
    LATCHKEY_TRUST_PROXY: 'on',
    LATCHKEY_HASH_CONCURRENCY: '1',
    ...(grace !== undefined ? { LATCHKEY_REFRESH_GRACE: String(grace) } : {}),
  }
  const db = pgCount > 0 ? await createDatabase() : null
  const tmp = pglite ? mkdtempSync(join(os.tmpdir(), 'latchkey-chaos-')) : null
  const slots = []
  for (let i = 0; i < pgCount; i++) {
    slots.push(createServerSlot({ name: `pg-${i + 1}`, group: 'pg', env: { ...common, DATABASE_URL: db.url }, crashes, log }))
  }
  if (pglite) slots.push(createServerSlot({ name: 'pglite', group: 'pglite', env: { ...common, DATA_DIR: join(tmp, 'data') }, crashes, log }))
  // One after the other: the first creates the schema.
  for (const s of slots) await s.start()
  return {
    slots,
    crashes,
    db,
    pgliteDir: tmp ? join(tmp, 'data') : null,
    groups: () => [...new Set(slots.map((s) => s.group))],
    async stopAll() {
      await Promise.all(slots.map((s) => s.stop()))
    },
    async cleanup() {
      if (db) await db.drop().catch((e) => log(`could not drop ${db.name}: ${e.message}`))
      if (tmp) rmSync(tmp, { recursive: true, force: true })
    },
  }
}

/**
 * Kills one process of `slots` every 20–40 s (seeded) and restarts it after 0.5–3 s. A slot
 * being restarted is never killed again, and one of a group stays up when the group has two.
 */
export function startKillLoop({ slots, rng, log, events }) {
  let stopped = false
  let timer = null
  const restarting = new Set()
  const round = async () => {
    if (stopped) return
    const candidates = slots.filter((s) => s.up && !restarting.has(s))
    if (candidates.length > 0) {
      const victim = rng.pick(candidates)
      restarting.add(victim)
      const downFor = rng.range(500, 3000)
      events.push({ at: Date.now(), server: victim.name, type: 'kill', downFor: Math.round(downFor) })
      await victim.kill()
      await new Promise((r) => setTimeout(r, downFor))
      try {
        await victim.start()
        events.push({ at: Date.now(), server: victim.name, type: 'restarted' })
      } catch (e) {
        log(`restart of ${victim.name} failed: ${e.message}`)
      }
      restarting.delete(victim)
    }
    if (!stopped) timer = setTimeout(round, rng.range(20_000, 40_000))
  }
  timer = setTimeout(round, rng.range(20_000, 40_000))
  return {
    /** Stops scheduling; waits until every killed slot is back up. */
    async stop() {
      stopped = true
      clearTimeout(timer)
      while (restarting.size > 0) await new Promise((r) => setTimeout(r, 100))
      for (const s of slots) if (!s.up) await s.start()
    },
  }
}
