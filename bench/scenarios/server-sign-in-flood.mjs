// server-sign-in-flood: 300 connections signing in at once, far beyond what the hashing slots
// can take (one Argon2id hash per core). The password-hash queue is bounded, so the excess is
// answered 503 + Retry-After at once instead of waiting seconds; the figures are what a user of
// /me sees meanwhile (p99) and what share of sign-ins still succeed. Rate limits stay off so the
// flood reaches the hash (they would refuse it sooner, which is not what is measured here).
import { load } from '../lib/load.mjs'
import { signUp, startLatchkey } from '../lib/latchkey.mjs'
import { log, round, sleep } from '../lib/util.mjs'

const FLOOD = 300

async function measureEngine({ engine, duration }) {
  const server = await startLatchkey({ engine, tag: 'flood' })
  try {
    const url = server.urls[0]
    const email = `flood-${engine}@bench.example`
    const { access_token } = await signUp(url, email)
    const me = { url: `${url}/me`, connections: 4, overallRate: 50, headers: { authorization: `Bearer ${access_token}` } }
    const signIn = {
      url: `${url}/auth/sign-in`,
      method: 'POST',
      connections: FLOOD,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'correct horse battery staple' }),
    }
    const meIdle = await load({ ...me, duration: Math.max(2, duration / 2) })
    const [flood, meBusy] = await Promise.all([load({ ...signIn, duration }), load({ ...me, duration })])
    await sleep(2000) // whatever is still queued drains before the server stops
    const codes = flood.statusCodes
    const answered = Object.values(codes).reduce((a, b) => a + b, 0)
    log(`${engine}: ${FLOOD} concurrent sign-ins: ${JSON.stringify(codes)}, sign-in p99 ${flood.p99Ms} ms; /me p99 idle ${meIdle.p99Ms} ms, during the flood ${meBusy.p99Ms} ms`)
    return {
      signInAnswered: answered,
      signInOkPerSec: flood.perSec,
      signInSuccessRate: answered ? round((codes['200'] ?? 0) / answered, 3) : null,
      signIn503: codes['503'] ?? 0,
      signIn5xxOther: Object.entries(codes).filter(([c]) => c.startsWith('5') && c !== '503').reduce((n, [, v]) => n + v, 0),
      signInP50Ms: flood.p50Ms,
      signInP99Ms: flood.p99Ms,
      signInErrors: flood.errors + flood.timeouts,
      meP99MsIdle: meIdle.p99Ms,
      meP99MsDuringFlood: meBusy.p99Ms,
      meCompletedDuringFlood: meBusy.ok,
      meErrorsDuringFlood: meBusy.errors + meBusy.non2xx,
    }
  } finally {
    await server.close()
  }
}

export async function run({ quick }) {
  const duration = quick ? 3 : 10
  const engines = {}
  for (const engine of ['pglite', 'postgres']) engines[engine] = await measureEngine({ engine, duration })
  return {
    params: {
      durationS: duration,
      flood: `${FLOOD} connections signing in to one account (right password), rate limits off`,
      meLoad: '/me at 50 requests/s over 4 connections, alone and during the flood',
      server: 'defaults: one hash per core, queue 16 per slot, 3 s queue deadline',
    },
    ...engines,
  }
}
