// server-sign-in: sign-ins per second versus the bare Argon2id rate with the same parameters (the
// ratio shows what a sign-in costs beyond its hash), and /me latency while sign-ins saturate the
// CPU (Argon2id runs on the thread pool, so the event loop should stay free).
import { hash, verify } from '@node-rs/argon2'
import { latchkeyHashSettings } from '../lib/hash-settings.mjs'
import { load } from '../lib/load.mjs'
import { PASSWORD, signUp, startLatchkey } from '../lib/latchkey.mjs'
import { log, ratio, rate, sleep } from '../lib/util.mjs'

async function measureEngine({ engine, duration, connections, verifyPerSec }) {
  const server = await startLatchkey({ engine, tag: 'signin' })
  try {
    const url = server.urls[0]
    const email = `sign-in-${engine}@bench.example`
    const { access_token } = await signUp(url, email)
    const signIn = {
      url: `${url}/auth/sign-in`,
      method: 'POST',
      connections,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    }
    // /me at a modest fixed rate, as a foreground app would call it.
    const me = { url: `${url}/me`, connections: 4, overallRate: 50, headers: { authorization: `Bearer ${access_token}` } }

    await load({ ...signIn, duration: 1 }) // warm-up
    await sleep(2000) // the warm-up's queued hashes finish before /me is measured alone
    const meIdle = await load({ ...me, duration: Math.max(2, duration / 2) })
    const s = await load({ ...signIn, duration })
    await sleep(2000) // let the sign-ins still in flight finish
    await server.first.call('loopDelayStart')
    const [sBusy, meBusy] = await Promise.all([load({ ...signIn, duration }), load({ ...me, duration })])
    const loop = await server.first.call('loopDelayStop')
    if (s.non2xx || sBusy.non2xx) throw new Error(`sign-in answered non-2xx: ${JSON.stringify(s.statusCodes)} ${JSON.stringify(sBusy.statusCodes)}`)
    log(`${engine}: sign-in ${s.perSec}/s; /me p99 idle ${meIdle.p99Ms} ms, during sign-ins ${meBusy.p99Ms} ms (${meBusy.ok} done); server loop delay p99 ${loop.p99Ms} ms`)
    return {
      signInPerSec: s.perSec,
      signInP50Ms: s.p50Ms,
      signInP99Ms: s.p99Ms,
      signInOverHash: ratio(s.perSec, verifyPerSec),
      meP99MsIdle: meIdle.p99Ms,
      meCompletedIdle: meIdle.ok,
      meP50MsDuringSignIns: meBusy.p50Ms,
      meP99MsDuringSignIns: meBusy.p99Ms,
      meCompletedDuringSignIns: meBusy.ok,
      meErrorsDuringSignIns: meBusy.errors + meBusy.non2xx,
      signInPerSecWithMe: sBusy.perSec,
      serverEventLoopDelayP99Ms: loop.p99Ms,
      serverEventLoopDelayMaxMs: loop.maxMs,
    }
  } finally {
    await server.close()
  }
}

export async function run({ quick }) {
  const duration = quick ? 3 : 10
  const connections = 32
  const settings = await latchkeyHashSettings()

  // The bare hash rate first, with nothing else running. Same thread pool as the server's.
  const stored = await hash(PASSWORD, settings.options)
  await rate(() => verify(stored, PASSWORD), connections, 1) // warm-up
  const verifyPerSec = await rate(() => verify(stored, PASSWORD), connections, duration)
  const hashPerSec = await rate(() => hash(PASSWORD, settings.options), connections, duration)
  log(`bare argon2id: verify ${verifyPerSec}/s, hash ${hashPerSec}/s`)

  const engines = {}
  for (const engine of ['pglite', 'postgres']) engines[engine] = await measureEngine({ engine, duration, connections, verifyPerSec })
  return {
    params: {
      durationS: duration,
      connections,
      hash: `argon2id m=${settings.memoryKiB} KiB t=${settings.iterations} p=${settings.parallelism}`,
      meLoad: '/me at 50 requests/s over 4 connections (autocannon overallRate, latencies corrected for coordinated omission), alone and alongside the sign-in load',
      eventLoop: 'monitorEventLoopDelay in the server process during the combined load',
      bareRate: `@node-rs/argon2 in the scenario process, ${connections} in flight, default libuv thread pool; sign-in verifies, so the ratio uses the verify rate`,
    },
    argon2idVerifyPerSec: verifyPerSec,
    argon2idHashPerSec: hashPerSec,
    ...engines,
    signInOverHash: engines.pglite.signInOverHash,
  }
}
