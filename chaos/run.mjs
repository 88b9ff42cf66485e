#!/usr/bin/env node
// `npm run chaos`: real server processes (two on one PostgreSQL database, one on PGlite), a
// faulting proxy in front of them, and app installs that restart, go offline, go to the
// background and have their clocks jumped, while server processes are killed with SIGKILL.
// Usage: node chaos/run.mjs [--seed N] [--quick] [--installs N] [--scenarios N per install] [--grace S]
//        [--pglite-only] [--only KIND (every scenario of one kind, for debugging)]
//        [--dpop (every install's session is bound to a device key, RFC 9449: no sign-out is by design)]
// Last line: `chaos: N scenarios, V violations (…)`; exit 1 when V > 0.
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { buildPackages } from '../scripts/build-if-stale.mjs'
import { reuseFromPglite, reuseFromPostgres } from './audit.mjs'
import { classify, slimRecord } from './classify.mjs'
import { lastLine, table, writeReport } from './report.mjs'
import { createRng } from './rng.mjs'
import { dealScenarios, planScenario, runScenario } from './scenarios.mjs'
import { postgresReachable, PG_URL, startKillLoop, startServers } from './servers.mjs'
import { startProxy } from './proxy.mjs'

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    quick: { type: 'boolean', default: false },
    installs: { type: 'string' },
    scenarios: { type: 'string' },
    grace: { type: 'string' },
    'pglite-only': { type: 'boolean', default: false },
    only: { type: 'string' },
    dpop: { type: 'boolean', default: false },
  },
})
const seed = Number(args.seed)
const quick = args.quick
const installCount = Number(args.installs ?? (quick ? 32 : 40))
const perInstall = args.scenarios ? Number(args.scenarios) : Math.ceil((quick ? 64 : 520) / installCount)
const pgliteOnly = args['pglite-only']
const dpop = args.dpop
const ACCESS_TTL = 2
const began = Date.now()
const log = (line) => process.stderr.write(`[chaos ${((Date.now() - began) / 1000).toFixed(1)}s] ${line}\n`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

buildPackages(['core', 'server'])
const { DEFAULTS } = await import('../packages/server/dist/config.js')
const graceS = args.grace !== undefined ? Number(args.grace) : DEFAULTS.refreshGrace
const { createInstall } = await import('./install.mjs')

if (!pgliteOnly && !(await postgresReachable())) {
  console.error(`chaos: PostgreSQL is not reachable at ${PG_URL}; set LATCHKEY_TEST_DATABASE_URL or pass --pglite-only`)
  process.exit(2)
}

const rng = createRng(seed)
const installs = []
const byId = new Map()
const serverEvents = []
let servers = null
const rr = new Map()

const proxy = await startProxy({
  backendFor(installId) {
    const group = byId.get(installId)?.group ?? 'pg'
    const live = servers.slots.filter((s) => s.group === group && s.up && s.url)
    if (live.length === 0) return null
    const i = (rr.get(group) ?? 0) % live.length
    rr.set(group, i + 1)
    return { name: live[i].name, url: live[i].url }
  },
  isKilled: (name, since) => serverEvents.some((e) => e.server === name && e.type === 'kill' && e.at >= since - 50) || !servers.slots.find((s) => s.name === name)?.up,
  faultFor(installId, path) {
    const plan = byId.get(installId)?.plan
    if (!plan || plan.remaining <= 0) return null
    if (path === '/auth/sign-up' || path === '/auth/sign-in') return null // --dpop signs in through the proxy; never faulted
    if (plan.target === 'token' && path !== '/oauth/token') return null
    if (plan.target === 'any' && !plan.rng.chance(plan.p)) return null
    plan.remaining--
    plan.hits++
    return { type: plan.type, holdMs: plan.holdMs, delayMs: plan.rng.range(200, 3000) }
  },
  onForward(rec) {
    const inst = byId.get(rec.install)
    if (rec.path === '/oauth/token' && inst?.armedKill) {
      const fire = inst.armedKill
      inst.armedKill = null
      inst.kill()
      fire()
    }
  },
})

log(`seed ${seed}${quick ? ' (quick)' : ''}: ${installCount} installs × ${perInstall} scenarios; access TTL ${ACCESS_TTL} s, grace ${graceS} s; ${pgliteOnly ? 'PGlite only' : `PostgreSQL ${PG_URL.replace(/\/\/[^@]*@/, '//')} + PGlite`}${dpop ? '; DPoP-bound sessions' : ''}`)
servers = await startServers({ pgCount: pgliteOnly ? 0 : 2, pglite: true, issuer: proxy.url, accessTtl: ACCESS_TTL, grace: args.grace !== undefined ? graceS : undefined, log })
log(`servers up: ${servers.slots.map((s) => `${s.name} ${s.url}`).join(', ')}; proxy ${proxy.url}`)

/** A live server of the group, for sign-up and sign-in (straight to the server, not through the proxy). */
async function direct(group) {
  for (;;) {
    const live = servers.slots.filter((s) => s.group === group && s.up && s.url)
    if (live.length > 0) return rng.pick(live).url
    await sleep(100)
  }
}

const deal = args.only ? Array.from({ length: installCount }, () => Array(perInstall).fill(args.only)) : dealScenarios(rng.fork(1000), installCount, perInstall)
for (let i = 0; i < installCount; i++) {
  const group = pgliteOnly || i % 4 === 3 ? 'pglite' : 'pg'
  const irng = rng.fork(i)
  const inst = createInstall({ id: `i${String(i).padStart(2, '0')}`, index: i, group, proxyUrl: proxy.url, rng: irng, direct, onSignedOut: () => undefined, dpop })
  inst.scenarios = deal[i].map((kind, index) => ({ install: inst.id, index, kind, params: planScenario(irng, kind, { quick, graceMs: graceS * 1000 }) }))
  inst.rng = irng
  installs.push(inst)
  byId.set(inst.id, inst)
}

let exitCode
try {
  // Sign-ups a few at a time: each is an Argon2id hash.
  for (let i = 0; i < installs.length; i += 4) {
    await Promise.all(installs.slice(i, i + 4).map(async (inst) => {
      await inst.open()
      await inst.signUp()
    }))
  }
  log(`${installs.length} installs signed up`)

  const killLoops = [
    startKillLoop({ slots: servers.slots.filter((s) => s.group === 'pg'), rng: rng.fork(2000), log, events: serverEvents }),
    startKillLoop({ slots: servers.slots.filter((s) => s.group === 'pglite'), rng: rng.fork(2001), log, events: serverEvents }),
  ]
  const activities = installs.map((inst) => inst.activity())
  let done = 0
  const total = installs.reduce((n, i) => n + i.scenarios.length, 0)
  await Promise.all(installs.map(async (inst) => {
    for (const sc of inst.scenarios) {
      await runScenario(inst, sc, inst.rng, { quick })
      if (++done % 50 === 0) log(`${done}/${total} scenarios`)
    }
  }))
  log(`${done} scenarios done; recovery`)

  // Recovery: faults off, every server up, every install open, online and in the foreground.
  await Promise.all(killLoops.map((k) => k.stop()))
  for (const inst of installs) {
    inst.plan = null
    inst.armedKill = null
    inst.stopActivity()
    inst.setOnline(true)
    inst.setForeground(true)
    if (!inst.alive) await inst.open()
  }
  void activities
  await sleep(ACCESS_TTL * 1000 + 500) // every access token has expired
  const recovery = await Promise.all(installs.filter((i) => i.signedIn).map(recover))
  log(`recovery: ${recovery.filter((r) => r.ok).length}/${recovery.length} installs got a 200 from /me through a fresh refresh`)

  // A call still pending is a violation only once it is 30 s old: wait until each has settled or aged.
  // (Recovery's own calls are judged by recovery.)
  const pending = () => installs.flatMap((i) => i.calls).filter((c) => c.kind !== 'recovery' && c.settledAt === null && c.abandonedAt === null && Date.now() - c.at <= 30_500)
  while (pending().length > 0) await sleep(250)
  const now = Date.now()
  log('stopping servers')
  await servers.stopAll()
  log('servers stopped; reading the audit')
  const reuse = []
  const reuseGaps = []
  if (servers.db) reuse.push(...(await reuseFromPostgres(servers.db.url)))
  if (servers.pgliteDir) {
    try {
      reuse.push(...(await reuseFromPglite(servers.pgliteDir)))
    } catch (e) {
      reuseGaps.push(`PGlite audit not read: ${e.message}`)
    }
  }
  const scenarios = installs.flatMap((i) => i.scenarios)
  const { violations, byDesign } = classify({ installs, records: proxy.records, crashes: servers.crashes, reuse, reuseGaps, graceMs: graceS * 1000, recovery, now, dpop })
  const seconds = Math.round((Date.now() - began) / 1000)
  const out = table(scenarios, violations, byDesign)
  process.stdout.write(`${out}\n`)
  process.stdout.write(`seed ${seed}${quick ? ' --quick' : ''}${dpop ? ' --dpop' : ''}: ${installs.length} installs, ${proxy.records.length} proxied requests, ${serverEvents.filter((e) => e.type === 'kill').length} server kills, ${reuse.length} reuse revocations, ${seconds} s${reuseGaps.length ? `; ${reuseGaps.join('; ')}` : ''}\n`)
  writeReport(new URL('./results/', import.meta.url), seed, {
    seed, quick, dpop, installs: installs.length, graceS, accessTtlS: ACCESS_TTL, seconds, pgliteOnly,
    table: out,
    summary: lastLine(scenarios, violations, byDesign),
    violations, byDesign, recovery, reuse, reuseGaps, serverEvents, crashes: servers.crashes,
    scenarios: scenarios.map(({ install, index, kind, params, startedAt, endedAt, hits, fired }) => ({ install, index, kind, params: { ...params }, startedAt, endedAt, hits, fired })),
    requests: { total: proxy.records.length, byFault: countBy(proxy.records, (r) => r.fault ?? 'none') },
    installEvents: Object.fromEntries(installs.map((i) => [i.id, i.events.map((e) => ({ ...e, at: new Date(e.at).toISOString() }))])),
  })
  writeFileSync(new URL(`./results/requests-seed-${seed}.json`, import.meta.url), JSON.stringify(proxy.records.map(slimRecord)))
  process.stdout.write(`${lastLine(scenarios, violations, byDesign)}\n`)
  exitCode = violations.length > 0 ? 1 : 0
} catch (e) {
  console.error(`chaos: run failed: ${e?.stack ?? e}`)
  exitCode = 2
} finally {
  await servers.stopAll().catch(() => undefined)
  await servers.cleanup()
  await proxy.close()
}
process.exit(exitCode)

/** After every access token expired: /me must answer 200 through a fresh refresh within 30 s. */
async function recover(inst) {
  const start = Date.now()
  let last = null
  while (Date.now() - start < 30_000) {
    const left = 30_000 - (Date.now() - start)
    const call = inst.call('recovery', async (client) => {
      const res = await client.fetch(`${proxy.url}/me`, { signal: AbortSignal.timeout(left) })
      await res.text()
      return res.status
    })
    const c = await Promise.race([call, sleep(left).then(() => ({ outcome: 'no answer within 30 s' }))])
    last = c.outcome
    const refreshed = inst.events.some((e) => e.type === 'refreshed' && e.source === 'network' && e.at >= start)
    if (c.outcome === 200 && refreshed) return { install: inst.id, ok: true, ms: Date.now() - start }
    if (!inst.signedIn) return { install: inst.id, ok: false, signedOut: true, ms: Date.now() - start, why: 'signed out during recovery', last }
    await sleep(250)
  }
  return { install: inst.id, ok: false, ms: Date.now() - start, why: 'no 200 through a fresh refresh within 30 s', last }
}

function countBy(items, key) {
  const out = {}
  for (const it of items) out[key(it)] = (out[key(it)] ?? 0) + 1
  return out
}
