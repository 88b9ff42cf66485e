// Scenarios: one install × one fault or event episode, with app activity long enough to need at
// least one refresh (2 s access tokens). Each install runs its scenarios in sequence.
import { shuffle } from './rng.mjs'

export const FAULTS = ['drop-answer', 'delay', 'reset', '502', '503', 'hold-request', 'hold-answer', 'stall-body']
export const EVENTS = ['kill-reopen', 'kill-mid-refresh', 'offline', 'background', 'clock-jump', 'user-sign-out']
export const KINDS = [...FAULTS, ...EVENTS]

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const HOLDS_S = [1, 5, 15, 30, 60]
const DAY_MS = 24 * 3_600_000

/**
 * Deals `perInstall` scenario kinds to each install from a shuffled deck that holds every kind at
 * least once, so even a quick run covers them all.
 */
export function dealScenarios(rng, installs, perInstall) {
  const total = installs * perInstall
  const deck = []
  while (deck.length < total) deck.push(...KINDS)
  const dealt = shuffle(rng, deck.slice(0, Math.max(total, KINDS.length)))
  return Array.from({ length: installs }, (_, i) => dealt.slice(i * perInstall, (i + 1) * perInstall))
}

/**
 * The seeded parameters of one scenario. `graceMs`: the server's grace window; a quarter of the
 * full run's kill-mid-refresh scenarios keep the app closed longer than it, the case no fixed
 * window can cover (counted apart as by-design), so the classifier's rule is exercised too.
 */
export function planScenario(rng, kind, { quick, graceMs }) {
  const holds = quick ? HOLDS_S.filter((h) => h <= 30) : HOLDS_S
  switch (kind) {
    case 'hold-request':
    case 'hold-answer':
      return { kind, target: rng.chance(0.8) ? 'token' : 'any', holdMs: rng.pick(holds) * 1000, count: rng.int(1, 2) }
    case 'stall-body':
      return { kind, target: rng.chance(0.7) ? 'token' : 'any', count: 1 }
    case 'drop-answer':
    case 'reset':
    case '502':
    case '503':
    case 'delay':
      return { kind, target: rng.chance(0.6) ? 'token' : 'any', count: rng.int(1, 4) }
    case 'kill-reopen':
      return { kind, closedMs: Math.round(rng.pick([rng.range(300, 3000), rng.range(3000, quick ? 12_000 : 25_000)])) }
    case 'kill-mid-refresh':
      if (!quick && rng.chance(0.25)) return { kind, closedMs: Math.round(graceMs + rng.range(5000, 15_000)), pastGrace: true }
      return { kind, closedMs: Math.round(rng.pick([rng.range(200, 2000), rng.range(2000, quick ? 14_000 : 25_000)])) }
    case 'offline':
      return { kind, offlineMs: Math.round(rng.range(500, quick ? 15_000 : 30_000)) }
    case 'background':
      return { kind, backgroundMs: Math.round(rng.range(1000, quick ? 15_000 : 30_000)) }
    case 'clock-jump':
      return { kind, offsetMs: rng.pick([DAY_MS, -DAY_MS]), restart: rng.chance(0.5), restartMs: Math.round(rng.range(300, 2000)), keep: rng.chance(0.5) }
    case 'user-sign-out':
      return { kind, pauseMs: Math.round(rng.range(300, 2000)) }
    default:
      throw new Error(`unknown scenario kind ${kind}`)
  }
}

/**
 * Runs one scenario on `install`. The proxy reads `install.plan`; `install.armedKill` is fired by
 * the runner when one of the install's refreshes has been forwarded.
 */
export async function runScenario(install, sc, rng, { quick = false } = {}) {
  sc.startedAt = Date.now()
  install.log('scenario', { index: sc.index, kind: sc.kind })
  if (!install.alive) await install.open()
  if (!install.signedIn) {
    try {
      await install.signInAgain()
    } catch (e) {
      install.log('signInFailed', { error: e.message })
    }
  }
  // Tokens live 2 s and refresh at half life: these spans hold at least one refresh each.
  await sleep(quick ? rng.range(1500, 2500) : rng.range(2000, 3500)) // activity before the episode
  const p = sc.params
  switch (sc.kind) {
    case 'drop-answer':
    case 'delay':
    case 'reset':
    case '502':
    case '503':
    case 'hold-request':
    case 'hold-answer':
    case 'stall-body': {
      const plan = { type: sc.kind, target: p.target, remaining: p.count, hits: 0, holdMs: p.holdMs, p: 0.5, rng }
      install.plan = plan
      const until = Date.now() + (p.target === 'token' ? 10_000 : 6000)
      while (plan.remaining > 0 && Date.now() < until) await sleep(100)
      install.plan = null
      sc.hits = plan.hits
      if (p.holdMs) await sleep(p.holdMs)
      break
    }
    case 'kill-reopen':
      install.kill()
      await sleep(p.closedMs)
      await install.open()
      break
    case 'kill-mid-refresh': {
      let fired = false
      await new Promise((resolve) => {
        const t = setTimeout(resolve, 8000)
        install.armedKill = () => {
          fired = true
          clearTimeout(t)
          resolve(undefined)
        }
      })
      install.armedKill = null
      sc.fired = fired
      if (!fired) install.kill() // no refresh came: a plain kill
      await sleep(p.closedMs)
      await install.open()
      break
    }
    case 'offline':
      install.setOnline(false)
      await sleep(p.offlineMs)
      install.setOnline(true)
      break
    case 'background':
      install.setForeground(false)
      await sleep(p.backgroundMs)
      install.setForeground(true)
      break
    case 'clock-jump':
      install.jumpClock(p.offsetMs)
      if (p.restart) {
        install.kill()
        await sleep(p.restartMs)
        await install.open()
      }
      await sleep(3000)
      if (!p.keep) install.jumpClock(0)
      break
    case 'user-sign-out':
      await install.userSignOut()
      await sleep(p.pauseMs)
      try {
        await install.signInAgain()
      } catch (e) {
        install.log('signInFailed', { error: e.message })
      }
      break
  }
  await sleep(quick ? rng.range(2500, 3000) : rng.range(3000, 4500)) // activity after the episode
  sc.endedAt = Date.now()
}
