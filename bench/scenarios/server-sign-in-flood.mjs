// server-sign-in-flood: 300 connections signing in at once, far beyond what the hashing slots
// can take (one Argon2id hash per core). The password-hash queue is bounded, so the excess is
// answered 503 + Retry-After at once instead of waiting seconds; the figures are what a user of
// /me sees meanwhile (p99) and what share of sign-ins still succeed. Rate limits stay off so the
// flood reaches the hash (they would refuse it sooner, which is not what is measured here).
// Meanwhile a second account (a real user) signs in twice a second: what it gets and how fast.
// autocannon's /me figures count only the requests that completed within the run, and its 4
// connections send no more while they wait (coordinated omission), so /me is also sampled open
// loop: one request every 50 ms whatever the others do, each timed to its answer. The flood's
// load generator runs in a process of its own: in this one it slowed the timing of /me itself.
// With `before` (run.mjs --before DIR: another checkout's packages/server) each round measures
// that server and this tree's one after the other, in alternating order, and reports medians.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startChild } from '../lib/children.mjs'
import { load } from '../lib/load.mjs'
import { PASSWORD, signUp, startLatchkey } from '../lib/latchkey.mjs'
import { log, median, percentile, round, sleep } from '../lib/util.mjs'

// LATCHKEY_BENCH_FLOOD: connections in the flood (default 300, the security review's figure).
const FLOOD = Number(process.env.LATCHKEY_BENCH_FLOOD ?? 300)
const PROBE_EVERY_MS = 500
const ME_EVERY_MS = 50

/**
 * Open loop: one request every `everyMs` for `duration` s, each on its own (none waits for
 * another), each timed to its answer even after the period; statuses and latencies (ms).
 */
async function openLoop(everyMs, duration, send) {
  const probes = []
  const end = Date.now() + duration * 1000
  while (Date.now() < end) {
    const t0 = performance.now()
    probes.push(
      send(AbortSignal.timeout(30_000)).then(
        async (res) => {
          await res.arrayBuffer()
          return { status: String(res.status), ms: performance.now() - t0 }
        },
        () => ({ status: 'error', ms: performance.now() - t0 }),
      ),
    )
    await sleep(everyMs)
  }
  const done = await Promise.all(probes)
  const codes = {}
  for (const p of done) codes[p.status] = (codes[p.status] ?? 0) + 1
  const ms = done.map((p) => p.ms)
  return { codes, count: done.length, ok: codes['200'] ?? 0, p50Ms: round(median(ms), 0), p99Ms: round(percentile(ms, 99), 0), maxMs: round(percentile(ms, 100), 0) }
}

/** A second account signing in every PROBE_EVERY_MS: what a real user gets during the flood. */
async function probeSignIns(url, email, duration) {
  const r = await openLoop(PROBE_EVERY_MS, duration, (signal) =>
    fetch(`${url}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }), signal }),
  )
  return { probeCodes: r.codes, probeSuccessRate: r.count ? round(r.ok / r.count, 3) : null, probeP50Ms: r.p50Ms, probeMaxMs: r.maxMs }
}

const probeMe = (url, token, duration) => openLoop(ME_EVERY_MS, duration, (signal) => fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` }, signal }))

async function measureEngine({ engine, duration, serverDir, label = engine }) {
  const server = await startLatchkey({ engine, tag: 'flood', serverDir })
  const flooder = await startChild('load-child.mjs')
  try {
    const url = server.urls[0]
    const email = `flood-${engine}@bench.example`
    const probeEmail = `probe-${engine}@bench.example`
    const { access_token } = await signUp(url, email)
    await signUp(url, probeEmail)
    const me = { url: `${url}/me`, connections: 4, overallRate: 50, headers: { authorization: `Bearer ${access_token}` } }
    const signIn = {
      url: `${url}/auth/sign-in`,
      method: 'POST',
      connections: FLOOD,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'correct horse battery staple' }),
    }
    const [meIdle, meOpenIdle] = await Promise.all([load({ ...me, duration: Math.max(2, duration / 2) }), probeMe(url, access_token, Math.max(2, duration / 2))])
    await server.first.call('loopDelayStart')
    const [flood, meBusy, probe, meOpenBusy] = await Promise.all([
      flooder.call('load', { ...signIn, duration }),
      load({ ...me, duration }),
      probeSignIns(url, probeEmail, duration),
      probeMe(url, access_token, duration),
    ])
    const loop = await server.first.call('loopDelayStop') // from the flood's start to its last answer counted
    await sleep(2000) // whatever is still queued drains before the server stops
    const codes = flood.statusCodes
    const answered = Object.values(codes).reduce((a, b) => a + b, 0)
    log(
      `${label}: ${FLOOD} concurrent sign-ins: ${JSON.stringify(codes)} (+${flood.timeouts} timed out), sign-in p50 ${flood.p50Ms} ms p99 ${flood.p99Ms} ms; ` +
        `probe sign-ins ${JSON.stringify(probe.probeCodes)} p50 ${probe.probeP50Ms} ms max ${probe.probeMaxMs} ms; ` +
        `/me p99 idle ${meIdle.p99Ms} ms, during the flood ${meBusy.p99Ms} ms (${meBusy.ok} completed); open-loop /me p99 idle ${meOpenIdle.p99Ms} ms, during the flood ${meOpenBusy.p99Ms} ms ${JSON.stringify(meOpenBusy.codes)}; server loop delay p99 ${loop.p99Ms} ms`,
    )
    return {
      signInCodes: codes,
      signInAnswered: answered,
      signInOkPerSec: flood.perSec,
      signInSuccessRate: answered ? round((codes['200'] ?? 0) / answered, 3) : null,
      signIn503: codes['503'] ?? 0,
      signIn5xxOther: Object.entries(codes).filter(([c]) => c.startsWith('5') && c !== '503').reduce((n, [, v]) => n + v, 0),
      signInP50Ms: flood.p50Ms,
      signInP99Ms: flood.p99Ms,
      signInErrors: flood.errors + flood.timeouts,
      signInTimeouts: flood.timeouts,
      ...probe,
      meP99MsIdle: meIdle.p99Ms,
      meP99MsDuringFlood: meBusy.p99Ms,
      meMaxMsDuringFlood: meBusy.maxMs,
      meCompletedDuringFlood: meBusy.ok,
      meErrorsDuringFlood: meBusy.errors + meBusy.non2xx,
      meTimeoutsDuringFlood: meBusy.timeouts,
      meOpenP99MsIdle: meOpenIdle.p99Ms,
      meOpenP50MsDuringFlood: meOpenBusy.p50Ms,
      meOpenP99MsDuringFlood: meOpenBusy.p99Ms,
      meOpenMaxMsDuringFlood: meOpenBusy.maxMs,
      meOpenSentDuringFlood: meOpenBusy.count,
      meOpenFailedDuringFlood: meOpenBusy.count - meOpenBusy.ok,
      serverLoopDelayP99Ms: loop.p99Ms,
      serverLoopDelayMaxMs: loop.maxMs,
    }
  } finally {
    await flooder.stop()
    await server.close()
  }
}

const ENGINES = ['pglite', 'postgres']

const params = (duration) => ({
  durationS: duration,
  flood: `${FLOOD} connections signing in to one account (right password), rate limits off`,
  probe: `a second account signs in every ${PROBE_EVERY_MS} ms during the flood`,
  meLoad: '/me at 50 requests/s over 4 connections, alone and during the flood',
  meOpenLoop: `/me every ${ME_EVERY_MS} ms open loop (each timed to its answer), alone and during the flood`,
  server: 'defaults: one hash per core, queue 16 per slot, 3 s queue deadline',
})

function gitCommit(dir) {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: dir, encoding: 'utf8' }).trim()
    return dirty ? `${commit} (server src modified)` : commit
  } catch {
    return null
  }
}

/** Per figure, the median over rounds (numbers; status-code counts key by key). */
function medians(runs) {
  const out = {}
  for (const key of Object.keys(runs[0])) {
    const values = runs.map((r) => r[key])
    if (values.every((v) => typeof v === 'number')) out[key] = median(values)
    else if (values.every((v) => v && typeof v === 'object')) {
      const codes = [...new Set(values.flatMap((v) => Object.keys(v)))].sort()
      out[key] = Object.fromEntries(codes.map((c) => [c, median(values.map((v) => v[c] ?? 0))]))
    }
  }
  return out
}

export async function run({ quick, before, rounds = 3 }) {
  const duration = quick ? 3 : 10
  if (!before) {
    const engines = {}
    for (const engine of ENGINES) engines[engine] = await measureEngine({ engine, duration })
    return { params: params(duration), ...engines }
  }
  const variants = { before: before, after: undefined }
  const byRound = {}
  const runs = Object.fromEntries(ENGINES.map((e) => [e, { before: [], after: [] }]))
  for (let r = 1; r <= rounds; r++) {
    byRound[`round${r}`] = {}
    for (const engine of ENGINES) {
      // Alternating order, so neither side always goes first on a machine whose load drifts.
      const order = r % 2 === 1 ? ['before', 'after'] : ['after', 'before']
      byRound[`round${r}`][engine] = {}
      for (const v of order) {
        const figures = await measureEngine({ engine, duration, serverDir: variants[v], label: `round ${r} ${engine} ${v}` })
        byRound[`round${r}`][engine][v] = figures
        runs[engine][v].push(figures)
      }
    }
  }
  const serverHere = fileURLToPath(new URL('../../packages/server/', import.meta.url))
  return {
    params: { ...params(duration), server: 'each side with its defaults (before the bound: one hash per core, queue unbounded)', rounds, order: 'odd rounds before then after, even rounds after then before' },
    servers: { before: { dir: before, commit: gitCommit(before) }, after: { dir: serverHere, commit: gitCommit(serverHere) } },
    medians: Object.fromEntries(ENGINES.map((e) => [e, { before: medians(runs[e].before), after: medians(runs[e].after) }])),
    ...byRound,
  }
}
