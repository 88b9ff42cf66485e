// server-revocation-reach: how long after a revocation answers on one auth-server process its
// access token is refused by another process (/me) and by a resource server following the
// revocation feed (issue 14; goal: within 1 s). Two processes on one PostgreSQL; each round
// signs up twice (one token for the auth server, one for the API), revokes both sessions on
// process A (RFC 7009) and polls B and the API until they answer 401.
import { startLatchkey, PASSWORD } from '../lib/latchkey.mjs'
import { startResourceApi } from '../lib/resource-api.mjs'
import { log, median, now, percentile, round } from '../lib/util.mjs'

const ISSUER = 'http://latchkey.bench'
const API = 'https://orders.bench'
const ACCESS_TTL = 600

async function signUp(url, email, resource) {
  const res = await fetch(`${url}/auth/sign-up`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD, ...(resource ? { resource } : {}) }),
  })
  if (!res.ok) throw new Error(`sign-up answered ${res.status}`)
  return res.json()
}

const status = async (url, token) => (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status

/** Polls until `url` refuses `token`; ms from `since`, and whether it ever answered 200 meanwhile. */
async function untilRefused(url, token, since) {
  let polls = 0
  for (;;) {
    polls++
    const s = await status(url, token)
    if (s === 401) return { ms: now() - since, polls }
    if (s !== 200) throw new Error(`${url} answered ${s}`)
  }
}

export async function run({ quick }) {
  const rounds = quick ? 3 : 10
  const server = await startLatchkey({ engine: 'postgres', processes: 2, tag: 'reach', issuer: ISSUER, resources: [API], accessTtl: ACCESS_TTL })
  const [a, b] = server.urls
  const api = await startResourceApi({ authUrl: a, issuer: ISSUER, audience: API, databaseUrl: server.databaseUrl, accessTtl: ACCESS_TTL })
  try {
    const toB = []
    const toApi = []
    for (let i = 0; i < rounds; i++) {
      const own = await signUp(a, `reach-${i}@bench.example`)
      const forApi = await signUp(a, `reach-api-${i}@bench.example`, API)
      if ((await status(`${b}/me`, own.access_token)) !== 200) throw new Error('B refused a live session')
      if ((await status(`${api.url}/orders/`, forApi.access_token)) !== 200) throw new Error('the API refused a live session')
      const revoke = (token) => fetch(`${a}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }) })
      await Promise.all([revoke(own.refresh_token), revoke(forApi.refresh_token)])
      const answered = now()
      const [rb, rapi] = await Promise.all([untilRefused(`${b}/me`, own.access_token, answered), untilRefused(`${api.url}/orders/`, forApi.access_token, answered)])
      toB.push(rb.ms)
      toApi.push(rapi.ms)
    }
    const summary = (xs) => ({ p50Ms: round(median(xs), 1), maxMs: round(Math.max(...xs), 1), p90Ms: round(percentile(xs, 90), 1) })
    log(`other process: ${JSON.stringify(summary(toB))}; resource API: ${JSON.stringify(summary(toApi))}`)
    return {
      params: { rounds, processes: 2, engine: 'postgres', measured: 'ms from the revocation answering on process A to the first 401 (polling) at process B /me and at a resource API following the feed' },
      otherProcess: summary(toB),
      resourceApi: summary(toApi),
      withinOneSecond: Math.max(...toB, ...toApi) < 1000,
    }
  } finally {
    await api.close()
    await server.close()
  }
}
