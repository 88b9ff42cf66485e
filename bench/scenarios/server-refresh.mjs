// server-refresh: refresh-token grants per second and latency at concurrency 32, drawing on
// 10,000 pre-made sessions (each request spends a session's current token; the rotated token
// goes back into the pool), on PGlite and on PostgreSQL, one process and two processes.
import { load } from '../lib/load.mjs'
import { PASSWORD, startLatchkey } from '../lib/latchkey.mjs'
import { log, now, ratio, round } from '../lib/util.mjs'

const TOKEN_RE = /"refresh_token":"([^"]+)"/

export function refreshRequests(pool, stats) {
  return [
    {
      method: 'POST',
      path: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      setupRequest(req, context) {
        const token = pool.shift()
        context.token = token
        req.body = `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`
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

async function measure({ engine, processes, sessions, duration, connections }) {
  const t0 = now()
  const server = await startLatchkey({ engine, processes, tag: `refresh${processes}` })
  try {
    const { tokens } = await server.first.call('seed', { count: sessions, password: PASSWORD })
    const seedS = round((now() - t0) / 1000, 1)
    const pool = tokens.slice()
    const stats = { lost: 0, firstError: null }
    const options = { url: server.urls.length === 1 ? server.urls[0] : server.urls, connections, requests: refreshRequests(pool, stats) }
    await load({ ...options, duration: 2 }) // warm-up (JIT, connections, caches)
    const r = await load({ ...options, duration })
    if (stats.lost) log(`${engine}×${processes}: ${stats.lost} requests did not return a new token (first: ${stats.firstError})`)
    return {
      grantsPerSec: r.perSec,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      non2xx: r.non2xx,
      errors: r.errors,
      sessionsLeftInPool: pool.length,
      setupS: seedS,
    }
  } finally {
    await server.close()
  }
}

export async function run({ quick }) {
  const sessions = quick ? 1_000 : 10_000
  const duration = quick ? 3 : 10
  const connections = 32
  const configs = [
    ['pglite', 1],
    ['postgres', 1],
    ['postgres', 2],
  ]
  const out = {}
  for (const [engine, processes] of configs) {
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
