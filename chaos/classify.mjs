// Turns what the run recorded into violations, by class:
//   1 sign-out not by the user (except the by-design class, counted apart)
//   2 an app call unsettled after 30 s
//   3 failed recovery
//   4 a server 5xx the proxy did not inject, or a server exit the harness did not cause
//   5 a reuse revocation no client noticed

export const CLASSES = { 1: 'sign-out', 2: 'unsettled', 3: 'recovery', 4: 'server', 5: 'unnoticed-reuse' }
const CALL_LIMIT_MS = 30_000

/** The scenario of `install` running at `t` (or the last one started before it). */
function scenarioAt(install, t) {
  let found = null
  for (const sc of install.scenarios) if (sc.startedAt !== undefined && sc.startedAt <= t) found = sc
  return found
}

/** The install's last ~15 events and proxy records up to `t` (+1 s), for the report. */
export function historyOf(install, records, t) {
  const until = t + 1000
  const events = install.events.filter((e) => e.at <= until).slice(-15).map((e) => ({ ...e, at: new Date(e.at).toISOString() }))
  const proxy = records.filter((r) => r.install === install.id && r.at <= until).slice(-15).map(slimRecord)
  return { events, proxy }
}

export function slimRecord(r) {
  return {
    at: new Date(r.at).toISOString(), install: r.install, path: r.path, fault: r.fault,
    forwardedAt: r.forwardedAt ? new Date(r.forwardedAt).toISOString() : null,
    backend: r.backend, upstreamStatus: r.upstreamStatus, upstreamError: r.upstreamError,
    injectedStatus: r.injectedStatus, delivered: r.delivered, clientGone: r.clientGone,
    ...(r.refreshToken ? { counter: r.refreshToken.split('.')[1] } : {}),
  }
}

/**
 * DESIGN (Core 4): while the app stays online and in the foreground, a retry after a lost or held
 * answer lands inside the grace window. A `refresh_rejected` sign-out is by design only when the
 * install's last undelivered refresh answer was a successful rotation (or a grace answer to it) at
 * t_rot — the time of the rotation itself, which starts the server's window —, its next refresh
 * reached the server more than `grace` after t_rot, and in between the app was closed, offline or
 * in the background.
 */
export function isByDesign(install, records, signOut, graceMs, { dpop = false } = {}) {
  if (signOut.reason !== 'refresh_rejected') return { byDesign: false, why: `reason ${signOut.reason}` }
  // A DPoP-bound session (RFC 9449) has no window: the previous token with a proof by the device's
  // key gets the current pair at any time, so no lost answer excuses a sign-out.
  if (dpop) return { byDesign: false, why: 'DPoP-bound session: a lost answer is retryable at any time, nothing is by design' }
  const refreshes = records.filter((r) => r.install === install.id && r.path === '/oauth/token' && r.at <= signOut.at)
  const lost = refreshes.findLast((r) => r.forwardedAt !== null && !r.delivered)
  if (!lost) return { byDesign: false, why: 'no refresh answer was lost before the sign-out' }
  if (lost.upstreamStatus !== 200) return { byDesign: false, why: `the last lost refresh answer was ${lost.upstreamStatus ?? lost.upstreamError}, not a rotation` }
  // The window runs from the rotation, not from a later grace answer (which re-sends the same pair
  // and does not move the window): the rotation is the first 200 for the token the lost one presented.
  const rotation = (lost.refreshToken && refreshes.find((r) => r.refreshToken === lost.refreshToken && r.upstreamStatus === 200)) || lost
  const tRot = rotation.upstreamAt
  const next = refreshes.find((r) => r.forwardedAt !== null && r.forwardedAt > lost.forwardedAt)
  if (!next) return { byDesign: false, why: 'no later refresh reached the server' }
  const gap = next.forwardedAt - tRot
  const away = install.intervals.filter((i) => i.from <= next.forwardedAt && (i.to ?? Infinity) >= tRot).map((i) => i.kind)
  const facts = { tRot: new Date(tRot).toISOString(), tNext: new Date(next.forwardedAt).toISOString(), gapMs: gap, away: [...new Set(away)] }
  if (gap <= graceMs) return { byDesign: false, why: 'the next refresh landed inside the grace window, yet was rejected', ...facts }
  if (away.length === 0) return { byDesign: false, why: 'retry outside the grace window while online and in the foreground', ...facts }
  return { byDesign: true, why: `app ${facts.away.join('/')} between the lost rotation and the next refresh`, ...facts }
}

/**
 * @param {{ installs: any[], records: any[], crashes: any[], reuse: {sessionId: string, at: number, server: string}[],
 *   reuseGaps: string[], graceMs: number, recovery: any[], now: number, dpop?: boolean }} run
 */
export function classify(run) {
  const violations = []
  const byDesign = []
  const installOfSession = new Map()
  for (const inst of run.installs) for (const sid of inst.sessions) installOfSession.set(sid, inst)
  const kindAt = (inst, t) => scenarioAt(inst, t)?.kind ?? '(start)'

  for (const inst of run.installs) {
    for (const so of inst.signOuts) {
      const verdict = isByDesign(inst, run.records, so, run.graceMs, { dpop: run.dpop ?? false })
      const entry = { class: 1, install: inst.id, kind: kindAt(inst, so.at), at: new Date(so.at).toISOString(), reason: so.reason, code: so.code, ...verdict, history: historyOf(inst, run.records, so.at) }
      if (verdict.byDesign) byDesign.push(entry)
      else violations.push(entry)
    }
    for (const c of inst.calls) {
      if (c.kind === 'recovery') continue // class 3 judges these
      const end = c.settledAt ?? run.now
      if (end - c.at <= CALL_LIMIT_MS) continue
      if (c.abandonedAt !== null && c.abandonedAt - c.at <= CALL_LIMIT_MS) continue // the app was killed first
      violations.push({ class: 2, install: inst.id, kind: kindAt(inst, c.at), at: new Date(c.at).toISOString(), call: c.kind, settledAfterMs: c.settledAt ? c.settledAt - c.at : null, outcome: c.outcome, history: historyOf(inst, run.records, c.at + CALL_LIMIT_MS) })
    }
  }
  for (const r of run.recovery) {
    if (r.ok || r.signedOut) continue // a sign-out during recovery is counted in class 1
    const inst = run.installs.find((i) => i.id === r.install)
    violations.push({ class: 3, install: r.install, kind: 'recovery', lastKind: inst.scenarios.at(-1)?.kind, ...r, history: historyOf(inst, run.records, run.now) })
  }
  for (const rec of run.records) {
    if (rec.upstreamStatus !== null && rec.upstreamStatus >= 500) {
      const inst = run.installs.find((i) => i.id === rec.install)
      violations.push({ class: 4, install: rec.install, kind: inst ? kindAt(inst, rec.at) : '(servers)', at: new Date(rec.at).toISOString(), path: rec.path, status: rec.upstreamStatus, backend: rec.backend })
    }
  }
  for (const crash of run.crashes) violations.push({ class: 4, kind: '(servers)', at: new Date(crash.at).toISOString(), server: crash.server, code: crash.code, signal: crash.signal, output: crash.output })
  for (const reuse of run.reuse) {
    const inst = installOfSession.get(reuse.sessionId)
    const noticed = inst?.signOuts.some((so) => so.reason === 'refresh_rejected' && so.sessionId === reuse.sessionId)
    if (noticed) continue
    violations.push({ class: 5, install: inst?.id ?? null, kind: inst ? kindAt(inst, reuse.at) : '(unknown)', at: new Date(reuse.at).toISOString(), sessionId: reuse.sessionId, server: reuse.server, ...(inst ? { history: historyOf(inst, run.records, reuse.at) } : {}) })
  }
  return { violations, byDesign }
}
