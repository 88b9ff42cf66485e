#!/usr/bin/env node
// Prints the README's benchmark tables (Markdown) from bench/results/latest.json:
// `node bench/summary.mjs` after `npm run bench`. Every figure is read from the results file.
import { readFileSync } from 'node:fs'

const doc = JSON.parse(readFileSync(new URL('./results/latest.json', import.meta.url), 'utf8'))
const by = Object.fromEntries(doc.results.map((r) => [r.bench, r]))
const out = []
const yes = (b) => (b ? '**yes**' : 'no')
const v = (x) => (x === null || x === undefined ? '—' : String(x))

out.push(`Measured ${doc.date.slice(0, 10)} on ${doc.cpus} CPU cores (${doc.cpuModel ?? 'unknown'}), ${doc.totalMemoryGiB} GiB, Node ${doc.node}; whole run ${doc.totalSeconds} s${doc.quick ? ' (--quick)' : ''}.`, '')

const storm = by['refresh-storm']
if (storm) {
  out.push(`**refresh-storm**: ${storm.params.requests} concurrent requests with an expired access token against the Latchkey server (PostgreSQL, rotation with reuse detection, grace window 0).`, '')
  out.push('| client | refresh calls | succeeded | failed | hung | session revoked | refresh answers 503: refresh calls / failed / hung |', '|---|---|---|---|---|---|---|')
  for (const [name, r] of Object.entries(storm)) {
    if (!r || typeof r !== 'object' || !r.refreshOk) continue
    const ok = r.refreshOk
    const bad = r.refresh503
    out.push(`| ${name} | ${ok.refreshCalls} | ${ok.succeeded} | ${ok.failed} | ${ok.hung} | ${yes(ok.sessionRevoked)} | ${bad ? `${bad.refreshCalls} / ${bad.failed} / ${bad.hung}` : '—'} |`)
  }
  out.push('')
}

out.push('| bench | Latchkey | compared with | ratio |', '|---|---|---|---|')
const fo = by['fetch-overhead']
if (fo) out.push(`| fetch-overhead (${fo.params.requests} requests, ${fo.params.concurrency} in flight) | \`client.fetch\` median ${fo.latchkey.medianMs} ms, ${fo.latchkey.perSec}/s | bare \`fetch\` median ${fo.bareFetch.medianMs} ms, ${fo.bareFetch.perSec}/s | ${fo.latchkeyOverBare}× the median |`)
const cr = by['cold-restore']
if (cr) {
  for (const size of ['small', 'large']) {
    const r = cr[size]
    out.push(`| cold-restore, ${size} session (${r.sessionBytes} B, ${cr.params.nativeCallLatencyMs} ms per native call) | ${r.latchkey.ms} ms, ${r.latchkey.nativeCalls} native calls | two keys read one after another: ${r.commonPattern.ms} ms, ${r.commonPattern.nativeCalls} calls | ${r.latchkeyOverCommon}× |`)
  }
}
const sr = by['server-refresh']
if (sr?.postgresx1?.afterGrantsPerSec !== undefined) {
  // A whole run with --before: this tree's server against another commit's, interleaved rounds.
  const label = { postgresx1: 'PostgreSQL, 1 process', postgresx2: 'PostgreSQL, 2 processes', pglitex1: 'PGlite, 1 process' }
  for (const k of ['postgresx1', 'postgresx2', 'pglitex1']) {
    const r = sr[k]
    out.push(`| server-refresh, ${label[k]} (${sr.params.sessions} sessions, ${sr.params.connections} connections; median of ${sr.params.rounds} interleaved rounds) | ${r.afterGrantsPerSec} grants/s (server CPU ${r.afterCpuUsPerGrant} µs/grant) | ${doc.before?.commit ?? 'the --before checkout'}: ${r.beforeGrantsPerSec} grants/s (${r.beforeCpuUsPerGrant} µs/grant) | ${r.afterOverBefore}× |`)
  }
} else if (sr) {
  const row = (k) => (sr[k]?.grantsPerSec ? `${sr[k].grantsPerSec}/s (p50 ${sr[k].p50Ms} ms, p99 ${sr[k].p99Ms} ms)` : '—')
  out.push(`| server-refresh (${sr.params.sessions} sessions, ${sr.params.connections} connections) | PostgreSQL, 1 process: ${row('postgresx1')}; 2 processes: ${row('postgresx2')} | PGlite, 1 process: ${row('pglitex1')} | PostgreSQL / PGlite ${sr.postgresOverPglite}×; 2 / 1 processes ${sr.postgresTwoOverOne}× |`)
}
const po = by['peer-oidc-provider']
if (po) {
  const g = (k) => `${po[k].grantsPerSec} grants/s (p99 ${po[k].p99Ms} ms)`
  out.push(`| peer-oidc-provider: refresh grant, PostgreSQL (${po.params.sessions} sessions, ${po.params.connections} connections; median of ${po.params.rounds} rounds) | ${g('latchkeyPostgres')} | oidc-provider on the bench's PostgreSQL adapter: ${g('oidcProviderPostgres')} | ${po.latchkeyPostgresOverOidcProviderPostgres}× |`)
  out.push(`| peer-oidc-provider: Latchkey on PGlite vs oidc-provider in memory | ${g('latchkeyPglite')} | oidc-provider, in-memory adapter (no database): ${g('oidcProvider')} | ${po.latchkeyPgliteOverOidcProvider}× (Latchkey on PostgreSQL: ${po.latchkeyPostgresOverOidcProvider}×) |`)
}
const sd = by['server-dpop']
if (sd) {
  for (const e of ['pglite', 'postgres']) {
    const r = sd[e]
    out.push(`| server-dpop on ${e === 'pglite' ? 'PGlite' : 'PostgreSQL'} | DPoP-bound: refresh ${r.refreshDpop.grantsPerSec}/s, \`/me\` ${r.meDpop.perSec}/s | bearer: refresh ${r.refreshBearer.grantsPerSec}/s, \`/me\` ${r.meBearer.perSec}/s | refresh ${r.refreshDpopOverBearer}×, \`/me\` ${r.meDpopOverBearer}× |`)
  }
}
const sv = by['server-verify']
if (sv) {
  for (const e of ['pglite', 'postgres']) {
    const r = sv[e]
    out.push(`| server-verify on ${e === 'pglite' ? 'PGlite' : 'PostgreSQL'} | \`/me\` ${r.mePerSec}/s (p99 ${r.meP99Ms} ms) | \`/health\` ${r.healthPerSec}/s | ${r.meOverHealth}× |`)
  }
}
const rr = by['server-revocation-reach']
if (rr) {
  out.push(`| server-revocation-reach (${rr.params.processes} processes on PostgreSQL + a resource API following the feed; ${rr.params.rounds} rounds) | revoked on process A → first 401 at process B: p50 ${rr.otherProcess.p50Ms} ms, max ${rr.otherProcess.maxMs} ms; at the resource API: p50 ${rr.resourceApi.p50Ms} ms, max ${rr.resourceApi.maxMs} ms | goal: within 1 s | ${rr.withinOneSecond ? 'met' : '**not met**'} |`)
}
const si = by['server-sign-in']
if (si) {
  for (const e of ['pglite', 'postgres']) {
    const r = si[e]
    out.push(`| server-sign-in on ${e === 'pglite' ? 'PGlite' : 'PostgreSQL'} (${si.params.hash}) | ${r.signInPerSec} sign-ins/s; \`/me\` p99 ${r.meP99MsIdle} ms alone, ${r.meP99MsDuringSignIns} ms during sign-ins; event-loop delay p99 ${r.serverEventLoopDelayP99Ms} ms | bare Argon2id verify ${si.argon2idVerifyPerSec}/s | ${r.signInOverHash}× |`)
  }
}
const pb = by['peer-better-auth']
if (pb) {
  out.push(`| peer-better-auth: sign-in (${signInLabel(pb)}) | ${pb.latchkey.signInPerSec}/s, ${pb.latchkey.passwordHash}; bare hash ${pb.latchkey.bareArgon2idPerSec}/s | Better Auth ${pb.betterAuth.signInPerSec}/s, ${pb.betterAuth.passwordHash}; bare hash ${pb.betterAuth.bareScryptPerSec}/s | ${pb.signInLatchkeyOverBetterAuth}× (bare hashes ${pb.bareHashArgon2idOverScrypt}×; each sign-in over its own hash: Latchkey ${pb.latchkey.signInOverOwnHash}, Better Auth ${pb.betterAuth.signInOverOwnHash}) |`)
  out.push(`| peer-better-auth: session check | \`/me\` ${pb.latchkey.mePerSec}/s (p99 ${pb.latchkey.meP99Ms} ms) | \`getSession\` ${pb.betterAuth.getSessionPerSec}/s (p99 ${pb.betterAuth.getSessionP99Ms} ms) | ${pb.sessionCheckLatchkeyOverBetterAuth}× |`)
}
function signInLabel(r) {
  return `${String(r.params.signInConnections).split(' ')[0]} connections`
}
for (const f of doc.failures ?? []) out.push(`| ${f.bench} | FAILED: ${v(f.error)} | | |`)
process.stdout.write(`${out.join('\n')}\n`)
