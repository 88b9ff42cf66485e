// server-runtimes: the same server under Node and under Bun (the `bun` devDependency), side by
// side in one run: refresh-token grants per second (pre-made sessions, as server-refresh) and /me
// per second (as server-verify), on PGlite and on PostgreSQL. Ratios are Bun over Node.
import { load } from '../lib/load.mjs'
import { PASSWORD, signUp, startLatchkey } from '../lib/latchkey.mjs'
import { log, ratio } from '../lib/util.mjs'
import { refreshRequests } from './server-refresh.mjs'

async function measure({ engine, runtime, sessions, duration, connections }) {
  const server = await startLatchkey({ engine, runtime, tag: `rt-${runtime}` })
  try {
    const url = server.urls[0]
    const { tokens } = await server.first.call('seed', { count: sessions, password: PASSWORD })
    const pool = tokens.slice()
    const stats = { lost: 0, firstError: null }
    const refresh = { url, connections, requests: refreshRequests(pool, stats) }
    await load({ ...refresh, duration: 2 }) // warm-up
    const r = await load({ ...refresh, duration })
    const { access_token } = await signUp(url, `rt-${runtime}-${engine}@bench.example`)
    const me = { url: `${url}/me`, connections, headers: { authorization: `Bearer ${access_token}` } }
    await load({ ...me, duration: 1 })
    const m = await load({ ...me, duration })
    if (stats.lost || m.non2xx) log(`${engine} on ${runtime}: ${stats.lost} refreshes lost (${stats.firstError}), /me non-2xx ${m.non2xx}`)
    return { refreshPerSec: r.perSec, refreshP99Ms: r.p99Ms, mePerSec: m.perSec, meP99Ms: m.p99Ms, errors: r.errors + m.errors + stats.lost + m.non2xx }
  } finally {
    await server.close()
  }
}

export async function run({ quick }) {
  const sessions = quick ? 1_000 : 5_000
  const duration = quick ? 3 : 8
  const connections = 32
  const out = {}
  for (const engine of ['pglite', 'postgres']) {
    const node = await measure({ engine, runtime: 'node', sessions, duration, connections })
    const bun = await measure({ engine, runtime: 'bun', sessions, duration, connections })
    out[engine] = { node, bun, refreshBunOverNode: ratio(bun.refreshPerSec, node.refreshPerSec), meBunOverNode: ratio(bun.mePerSec, node.mePerSec) }
    log(`${engine}: refresh ${node.refreshPerSec}/s on Node, ${bun.refreshPerSec}/s on Bun; /me ${node.mePerSec}/s on Node, ${bun.mePerSec}/s on Bun`)
  }
  return { params: { sessions, connections, durationS: duration }, ...out }
}
