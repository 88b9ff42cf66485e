// server-refresh: refresh-token grants per second and latency at concurrency 32, drawing on
// 10,000 pre-made sessions (each request spends a session's current token; the rotated token
// goes back into the pool), on PGlite and on PostgreSQL, one process and two processes.
// With `before` (run.mjs --before DIR: another checkout's packages/server) each round measures
// that server and this tree's one after the other, in alternating order, and reports medians.
import { load } from '../lib/load.mjs'
import { PASSWORD, startLatchkey } from '../lib/latchkey.mjs'
import { log, median, now, ratio, round } from '../lib/util.mjs'

const TOKEN_RE = /"refresh_token":"([^"]+)"/

/**
 * autocannon requests that each spend the oldest token of `pool` at `path` and put the rotated
 * one back (RFC 6749 §6); `extraBody` is appended to the form (e.g. a public client's client_id).
 */
export function refreshRequests(pool, stats, { path = '/oauth/token', extraBody = '' } = {}) {
  return [
    {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      setupRequest(req, context) {
        const token = pool.shift()
        context.token = token
        req.body = `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}${extraBody}`
        return req
      },
      onResponse(status, body, context) {
        const m = status === 200 ? TOKEN_RE.exec(body) : null
        if (m) pool.push(m[1])
        else {
          stats.lost++ // that session is out of the pool
          if (stats.firstError === null) stats.firstError = `${status} ${String(body).slice(0, 120)}`
        }
        context.token = undefined
      },
    },
  ]
}

/**
 * Refresh grants per second against `urls` with `tokens` (one per session): 2 s warm-up, then
 * `duration` s. With `cpuMicros` (the servers' CPU time so far, µs), also the servers' CPU time
 * per grant: less sensitive than the rate to other work on a busy machine (for PGlite it includes
 * the database; for PostgreSQL only the Node side).
 */
export async function loadRefreshes({ urls, tokens, duration, connections, label, cpuMicros, ...requestOptions }) {
  const pool = tokens.slice()
  const stats = { lost: 0, firstError: null }
  const options = { url: urls.length === 1 ? urls[0] : urls, connections, requests: refreshRequests(pool, stats, requestOptions) }
  await load({ ...options, duration: 2 }) // warm-up (JIT, connections, caches)
  const cpu0 = await cpuMicros?.()
  const r = await load({ ...options, duration })
  const cpuUsPerGrant = cpuMicros && r.ok ? Math.round(((await cpuMicros()) - cpu0) / r.ok) : undefined
  if (stats.lost) log(`${label}: ${stats.lost} requests did not return a new token (first: ${stats.firstError})`)
  return { grantsPerSec: r.perSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, non2xx: r.non2xx, errors: r.errors, sessionsLeftInPool: pool.length, cpuUsPerGrant }
}

async function measure({ engine, processes, sessions, duration, connections, serverDir }) {
  const t0 = now()
  const server = await startLatchkey({ engine, processes, tag: `refresh${processes}`, serverDir })
  try {
    const { tokens } = await server.first.call('seed', { count: sessions, password: PASSWORD })
    const setupS = round((now() - t0) / 1000, 1)
    const cpuMicros = async () => (await Promise.all(server.all.map((c) => c.call('cpuUsage')))).reduce((n, u) => n + u.user + u.system, 0)
    const r = await loadRefreshes({ urls: server.urls, tokens, duration, connections, label: `${engine}×${processes}`, cpuMicros })
    return { ...r, setupS }
  } finally {
    await server.close()
  }
}

const CONFIGS = [
  ['pglite', 1],
  ['postgres', 1],
  ['postgres', 2],
]

/** Each round: the other checkout's server and this tree's, in alternating order; medians. */
async function runBeforeAfter({ before, rounds = 3, sessions, duration, connections }) {
  const out = {}
  for (const [engine, processes] of CONFIGS) {
    const figures = { before: [], after: [] }
    const cpu = { before: [], after: [] }
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? ['before', 'after'] : ['after', 'before']
      for (const side of order) {
        const r = await measure({ engine, processes, sessions, duration, connections, serverDir: side === 'before' ? before : undefined })
        figures[side].push(r.grantsPerSec)
        cpu[side].push(r.cpuUsPerGrant)
        log(`${engine}×${processes} round ${i + 1} ${side}: ${r.grantsPerSec} grants/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, server CPU ${r.cpuUsPerGrant} µs/grant`)
      }
    }
    const b = median(figures.before)
    const a = median(figures.after)
    const cb = median(cpu.before)
    const ca = median(cpu.after)
    out[`${engine}x${processes}`] = { beforeGrantsPerSec: b, afterGrantsPerSec: a, afterOverBefore: ratio(a, b), beforeCpuUsPerGrant: cb, afterCpuUsPerGrant: ca, cpuBeforeOverAfter: ratio(cb, ca), rounds: figures, cpuRounds: cpu }
  }
  return out
}

export async function run({ quick, before, rounds }) {
  // LATCHKEY_BENCH_REFRESH_SESSIONS: the pool's size (default 10,000). A pool the run cycles through
  // more than once measures refreshes of sessions the server process has already seen.
  const sessions = Number(process.env.LATCHKEY_BENCH_REFRESH_SESSIONS ?? (quick ? 1_000 : 10_000))
  const duration = quick ? 3 : 10
  const connections = 32
  if (before) {
    return { params: { sessions, connections, durationS: duration, before, rounds: rounds ?? 3, order: 'alternating per round; medians' }, ...(await runBeforeAfter({ before, rounds, sessions, duration, connections })) }
  }
  const out = {}
  for (const [engine, processes] of CONFIGS) {
    const r = await measure({ engine, processes, sessions, duration, connections })
    out[`${engine}x${processes}`] = r
    log(`${engine}×${processes}: ${r.grantsPerSec} grants/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`)
  }
  out.pglitex2 = { grantsPerSec: null, reason: 'PGlite is an embedded, single-process database; two server processes need PostgreSQL' }
  return {
    params: {
      sessions,
      connections,
      durationS: duration,
      seeding: 'users and sessions inserted straight into the tables; first refresh tokens minted with the server\'s own MAC code',
      loadGenerator: 'autocannon in the scenario process (connections spread over the processes\' URLs); servers in their own processes',
    },
    ...out,
    postgresTwoOverOne: ratio(out.postgresx2.grantsPerSec, out.postgresx1.grantsPerSec),
    postgresOverPglite: ratio(out.postgresx1.grantsPerSec, out.pglitex1.grantsPerSec),
  }
}
