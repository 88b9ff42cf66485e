// server-verify: /me (JWT verification plus the session check the server does by default, from the
// revocation feed in memory once the session is known) per
// second versus /health in the same server, under the same load: the ratio meOverHealth.
import { load } from '../lib/load.mjs'
import { startLatchkey, signUp } from '../lib/latchkey.mjs'
import { log, ratio } from '../lib/util.mjs'

export async function run({ quick }) {
  const duration = quick ? 2 : 8
  const connections = 32
  const engines = {}
  for (const engine of ['pglite', 'postgres']) {
    const server = await startLatchkey({ engine, tag: 'verify' })
    try {
      const url = server.urls[0]
      const { access_token } = await signUp(url, `verify-${engine}@bench.example`)
      const me = { url: `${url}/me`, connections, headers: { authorization: `Bearer ${access_token}` } }
      const health = { url: `${url}/health`, connections }
      await load({ ...me, duration: 1 }) // warm-up
      await load({ ...health, duration: 1 })
      const h = await load({ ...health, duration })
      const m = await load({ ...me, duration })
      if (m.non2xx || h.non2xx) throw new Error(`unexpected non-2xx: /me ${m.non2xx}, /health ${h.non2xx}`)
      engines[engine] = {
        mePerSec: m.perSec,
        meP50Ms: m.p50Ms,
        meP99Ms: m.p99Ms,
        healthPerSec: h.perSec,
        healthP50Ms: h.p50Ms,
        healthP99Ms: h.p99Ms,
        meOverHealth: ratio(m.perSec, h.perSec),
        errors: m.errors + h.errors,
      }
      log(`${engine}: /me ${m.perSec}/s, /health ${h.perSec}/s`)
    } finally {
      await server.close()
    }
  }
  return {
    params: {
      durationS: duration,
      connections,
      loadGenerator: 'autocannon in the scenario process; server in another process',
      me: 'ES256 JWT verification + the session check (checkSessionOnAccess, default): against the revocation feed in memory since issue 14 (before: one joined read of the session and the user)',
    },
    ...engines,
    meOverHealth: engines.pglite.meOverHealth,
  }
}
