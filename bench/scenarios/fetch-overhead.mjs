// fetch-overhead: what client.fetch adds per request over a bare fetch with the header set by
// hand, against a trivial protected route in another process (valid token, no refresh).
import { createSessionClient, memoryStorage, silentLogger } from '@latchkey/core'
import { startChild } from '../lib/children.mjs'
import { fakeJwt, log, median, now, percentile, pool, ratio, round } from '../lib/util.mjs'

async function measure(count, concurrency, once) {
  const latencies = new Float64Array(count)
  let failed = 0
  const t0 = now()
  await pool(count, concurrency, async (i) => {
    const s = now()
    const res = await once()
    await res.arrayBuffer()
    if (res.status !== 200) failed++
    latencies[i] = now() - s
  })
  const wallMs = now() - t0
  return { latencies, wallMs, failed }
}

const summary = ({ latencies, wallMs, failed }, count) => ({
  medianMs: round(median(latencies), 3),
  p99Ms: round(percentile(latencies, 99), 3),
  perSec: round((count / wallMs) * 1000, 0),
  failed,
})

export async function run({ quick }) {
  const requests = quick ? 2_000 : 20_000
  const concurrency = 50
  const rounds = 2 // alternate latchkey/bare twice so drift affects both equally
  const token = fakeJwt()
  const server = await startChild('trivial-child.mjs', { token })
  const url = `${server.info.url}/me`
  try {
    const client = createSessionClient({
      storage: memoryStorage(),
      refresh: async () => {
        throw new Error('no refresh expected in fetch-overhead')
      },
      // A custom refresh function does not say where the token may go (RFC 6750 §5.3).
      tokenOrigins: [new URL(url).origin],
      logger: silentLogger,
    })
    await client.start()
    await client.signIn({ access_token: token, token_type: 'Bearer', expires_in: 3600, refresh_token: 'unused' })

    const latchkeyOnce = () => client.fetch(url)
    const bareOnce = () => fetch(url, { headers: { Authorization: `Bearer ${token}` } })

    // Warm both paths (connections, JIT) before measuring.
    await measure(Math.min(1000, requests), concurrency, latchkeyOnce)
    await measure(Math.min(1000, requests), concurrency, bareOnce)

    const lk = []
    const bare = []
    for (let r = 0; r < rounds; r++) {
      lk.push(await measure(requests / rounds, concurrency, latchkeyOnce))
      bare.push(await measure(requests / rounds, concurrency, bareOnce))
    }
    client.stop()
    const merge = (runs) => ({
      latencies: Float64Array.from(runs.flatMap((m) => Array.from(m.latencies))),
      wallMs: runs.reduce((n, m) => n + m.wallMs, 0),
      failed: runs.reduce((n, m) => n + m.failed, 0),
    })
    const latchkey = summary(merge(lk), requests)
    const bareFetch = summary(merge(bare), requests)
    log(`client.fetch median ${latchkey.medianMs} ms, bare fetch median ${bareFetch.medianMs} ms`)
    return {
      params: { requests, concurrency, route: 'GET /me on a trivial node:http server in another process (token string compare)', rounds },
      latchkey,
      bareFetch,
      latchkeyOverBare: ratio(latchkey.medianMs, bareFetch.medianMs),
      throughputBareOverLatchkey: ratio(bareFetch.perSec, latchkey.perSec),
    }
  } finally {
    await server.stop()
  }
}
