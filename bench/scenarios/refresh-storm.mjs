// refresh-storm: N concurrent requests made with an access token the server considers expired,
// against the real Latchkey server (rotation and reuse detection on, grace window 0, so a
// duplicate refresh shows as what it is: reuse, and the session is revoked), for each client.
// A second round answers every refresh with 503 (the token endpoint is down).
import { decodeClaims } from '@latchkey/core'
import { startChild } from '../lib/children.mjs'
import { createDatabase } from '../lib/pg.mjs'
import { CLIENTS } from '../lib/storm-clients.mjs'
import { log, now, settleWithin } from '../lib/util.mjs'

const HUNG_AFTER_MS = 10_000
const PASSWORD = 'correct horse battery staple'

async function round({ server, clientName, roundName, requests, refreshStatus, index }) {
  // A fresh account and session per client and round.
  const email = `storm-${index}-${clientName}-${roundName}@bench.example`
  const res = await fetch(`${server.info.url}/auth/sign-up`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  })
  if (res.status !== 200 && res.status !== 201) throw new Error(`sign-up answered ${res.status}: ${await res.text()}`)
  const signedIn = await res.json()
  const sid = decodeClaims(signedIn.access_token).sid
  // Move the server's clock past the access token's expiry (10 min + tolerance). The client's
  // own clock does not move, so it still believes the token valid and sends it: every request
  // meets a 401 and the client has to refresh.
  await server.call('advanceClock', { seconds: 700 })

  await server.call('resetCounts')
  await server.call('setRefreshStatus', { status: refreshStatus })
  const client = await CLIENTS[clientName]({ baseUrl: server.info.url, tokenEndpoint: `${server.info.url}/oauth/token`, signedIn })
  const t0 = now()
  let lastSettled = t0
  const promises = Array.from({ length: requests }, () =>
    client.request('/me').finally(() => {
      lastSettled = now()
    }),
  )
  const states = await settleWithin(promises, HUNG_AFTER_MS)
  const hung = states.filter((s) => !s.done).length
  const succeeded = states.filter((s) => s.done && s.ok && s.value === 200).length
  const failed = states.filter((s) => s.done && !(s.ok && s.value === 200)).length
  const { refreshCalls } = await server.call('counts')
  await server.call('setRefreshStatus', { status: null })
  const session = await server.call('session', { id: sid })
  const audit = await server.call('auditCounts', { sessionId: sid })
  client.close()
  const errorKinds = {}
  for (const s of states) {
    if (!s.done) continue
    const kind = s.ok ? (s.value === 200 ? null : `status ${s.value}`) : (s.error?.code ?? s.error?.response?.status ?? s.error?.name ?? 'error')
    if (kind !== null) errorKinds[kind] = (errorKinds[kind] ?? 0) + 1
  }
  return {
    refreshCalls,
    succeeded,
    failed,
    hung,
    sessionRevoked: Boolean(session?.revoked),
    wallMs: hung ? null : Math.round(lastSettled - t0),
    serverRotations: audit.refresh ?? 0,
    reuseDetected: audit.refresh_reuse_detected ?? 0,
    failures: errorKinds,
  }
}

export async function run({ quick }) {
  const requests = quick ? 200 : 1000
  const db = await createDatabase('storm')
  const server = await startChild('latchkey-child.mjs', { databaseUrl: db.url, refreshGrace: 0, rateLimit: false, tap: true })
  try {
    const clients = {}
    let index = 0
    for (const clientName of Object.keys(CLIENTS)) {
      clients[clientName] = {}
      for (const [roundName, refreshStatus] of [['refreshOk', null], ['refresh503', 503]]) {
        const r = await round({ server, clientName, roundName, requests, refreshStatus, index: index++ })
        clients[clientName][roundName] = r
        log(`${clientName.padEnd(18)} ${roundName.padEnd(10)} refreshCalls=${r.refreshCalls} ok=${r.succeeded} failed=${r.failed} hung=${r.hung} revoked=${r.sessionRevoked} ${r.wallMs ?? '>10000'} ms`)
      }
    }
    return {
      params: {
        requests,
        server: 'Latchkey server (another process) on PostgreSQL, refreshGrace 0, access TTL 600 s; the token is expired by moving the server clock 700 s',
        refreshCalls: 'POST /oauth/token counted at the server, in front of the app; in refresh503 that handler answers 503',
        hungAfterMs: HUNG_AFTER_MS,
        rounds: 'refreshOk: the token endpoint works; refresh503: every refresh is answered 503 (in front of the app)',
      },
      ...clients,
    }
  } finally {
    await server.stop()
    await db.drop()
  }
}
