// The Latchkey server (@latchkey/server, built) in its own process, for the server scenarios.
// Options: startServer's own (databaseUrl | dataDir, accessTtl, refreshGrace, rateLimit, …) plus
// `clockOffsetS` support: the server's clock is Date.now() + an offset the parent can move, so a
// token can be made expired on the server's clock without waiting (refresh-storm).
// With `tap: true` the same app (createApp, served by @hono/node-server as startServer does) sits
// behind a thin handler that counts refresh requests (POST /oauth/token) from any client library
// and can answer them with 503 itself: no proxy process, so no extra hop on a 2-core machine.
import { randomUUID } from 'node:crypto'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createAdaptorServer } from '@hono/node-server'
import { childMain } from './children.mjs'

// LATCHKEY_BENCH_SERVER_DIR names another tree's packages/server (built), e.g. a worktree of an
// older commit, so the same scenario code measures that server (`npm run bench -- --before DIR`).
const serverDir = process.env.LATCHKEY_BENCH_SERVER_DIR
const serverDist = serverDir ? join(serverDir, 'dist') : fileURLToPath(new URL('../../packages/server/dist/', import.meta.url))
const { createApp, startServer, silentLogger } = serverDir ? await import(pathToFileURL(join(serverDist, 'index.js')).href) : await import('@latchkey/server')
// Internal modules of the server, used only to pre-make sessions without 10,000 Argon2 hashes.
const internal = (p) => import(pathToFileURL(join(serverDist, p)).href)

async function startTapped(options, tap) {
  const server = createAdaptorServer({ fetch: (req, env) => tap.handle(req, env) })
  server.keepAliveTimeout = 5_000
  await new Promise((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r))
  const url = `http://127.0.0.1:${server.address().port}`
  const built = await createApp({ ...options, issuer: url })
  tap.handle = (req, env) => {
    if (req.method === 'POST' && new URL(req.url).pathname === '/oauth/token') {
      tap.counts.refreshCalls++
      if (tap.refreshStatus) {
        return new Response('{"error":"temporarily_unavailable","error_description":"the token endpoint is down (bench)"}', {
          status: tap.refreshStatus,
          headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
        })
      }
    }
    return built.app.fetch(req, env)
  }
  return {
    url,
    port: server.address().port,
    db: built.db,
    service: built.service,
    close: async () => {
      await new Promise((r) => {
        server.close(() => r())
        server.closeAllConnections()
      })
      await built.close()
    },
  }
}

childMain(async ({ tap: tapped = false, ...options }) => {
  let offsetMs = 0
  const tap = { handle: () => new Response('starting', { status: 503 }), counts: { refreshCalls: 0 }, refreshStatus: null }
  const serverOptions = { port: 0, host: '127.0.0.1', logger: silentLogger, ...options, now: () => new Date(Date.now() + offsetMs) }
  const running = tapped ? await startTapped(serverOptions, tap) : await startServer(serverOptions)
  const db = running.db
  return {
    info: { url: running.url, port: running.port, pid: process.pid },
    close: () => running.close(),
    commands: {
      setRefreshStatus({ status }) {
        tap.refreshStatus = status ?? null
        return tap.refreshStatus
      },
      resetCounts() {
        tap.counts = { refreshCalls: 0 }
        return true
      },
      counts: () => tap.counts,
      /** This process's CPU time so far (µs, user and system). */
      cpuUsage: () => process.cpuUsage(),
      /** Event-loop delay of this server process between start and stop (ms). */
      loopDelayStart() {
        tap.loop?.disable()
        tap.loop = monitorEventLoopDelay({ resolution: 10 })
        tap.loop.enable()
        return true
      },
      loopDelayStop() {
        const h = tap.loop
        h.disable()
        const ms = (ns) => Math.round(ns / 1e4) / 100
        return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) }
      },
      advanceClock({ seconds }) {
        offsetMs += seconds * 1000
        return offsetMs
      },
      /**
       * Inserts `count` users (all with one Argon2id hash of `password`, computed once) and one
       * session each, straight into the server's tables; returns each session's first refresh
       * token, minted with the server's own MAC code and key.
       */
      async seed({ count, password, emailPrefix = 'seed', dpopJkt }) {
        const { hashPassword } = await internal('crypto/password.js')
        const { formatRefreshToken, newSessionId, newSessionSecret } = await internal('crypto/refresh-token.js')
        const macKey = running.service.o.macKey
        const passwordHash = await hashPassword(password)
        const now = running.service.o.now()
        const tokens = []
        const emails = []
        const batch = 500
        for (let start = 0; start < count; start += batch) {
          const users = []
          const sessions = []
          for (let i = start; i < Math.min(count, start + batch); i++) {
            const userId = randomUUID()
            const email = `${emailPrefix}-${i}@bench.example`
            users.push({ id: userId, email, password_hash: passwordHash, created_at: now })
            const id = newSessionId()
            const secret = newSessionSecret()
            sessions.push({ id, user_id: userId, counter: 0, secret, device: 'bench', created_at: now, last_used_at: now, rotated_at: null, revoked_at: null, revoke_reason: null, ...(dpopJkt ? { dpop_jkt: dpopJkt } : {}) })
            tokens.push(formatRefreshToken(macKey, id, 0, secret))
            emails.push(email)
          }
          await db.insertInto('users').values(users).execute()
          await db.insertInto('sessions').values(sessions).execute()
        }
        return { tokens, emails }
      },
      async session({ id }) {
        const row = await db.selectFrom('sessions').select(['counter', 'revoked_at', 'revoke_reason']).where('id', '=', id).executeTakeFirst()
        return row ? { counter: row.counter, revoked: row.revoked_at !== null, reason: row.revoke_reason } : null
      },
      async auditCounts({ sessionId }) {
        const rows = await db.selectFrom('audit_events').select(['type']).where('session_id', '=', sessionId).execute()
        const counts = {}
        for (const r of rows) counts[r.type] = (counts[r.type] ?? 0) + 1
        return counts
      },
    },
  }
})
