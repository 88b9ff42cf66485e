import { isNetworkError, type LatchkeyError } from '../errors/errors.js'
import type { Clock, Timers } from '../env/ambient.js'
import { createScheduler } from '../session/scheduler.js'
import { backoffDelay, type BackoffOptions } from './backoff.js'

/**
 * The one owner of when the next refresh runs (after TanStack Query's retryer): ahead of expiry,
 * after a failure with capped backoff and jitter, paused while offline or in the background, and
 * at once when connectivity or the foreground returns. While a retry is planned after a failure,
 * new needs are told the last error at once instead of each starting a refresh of their own.
 */
export function createRetryer(deps: {
  clock: Clock
  timers: Timers
  random: () => number
  backoff: BackoffOptions
  isForeground: () => boolean
  isOnline: () => boolean
  /** A refresh is due now. */
  due: () => void
}) {
  let failures = 0
  let lastError: LatchkeyError | null = null
  let blockedUntil: number | null = null
  let dueWhileOffline = false
  /** Set by stop(): nothing is planned until scheduling resumes. */
  let halted = false
  /** Needs waiting for the planned retry: woken with null (it started: join it) or an error. */
  let waiters: Array<(verdict: LatchkeyError | null) => void> = []
  const release = (verdict: LatchkeyError | null) => {
    const woken = waiters
    waiters = []
    for (const wake of woken) wake(verdict)
  }

  const scheduler = createScheduler({
    clock: deps.clock,
    timers: deps.timers,
    isForeground: deps.isForeground,
    onDue: () => {
      if (!deps.isOnline()) {
        // It runs when connectivity returns; a need waiting for it gets the last error now.
        dueWhileOffline = true
        return release(lastError)
      }
      blockedUntil = null
      deps.due()
      release(null)
    },
  })
  const reset = () => {
    failures = 0
    lastError = null
    blockedUntil = null
    dueWhileOffline = false
    release(null)
  }

  return {
    /** Refresh at `at` (monotonic ms), e.g. ahead of expiry. */
    planAt(at: number) {
      if (!halted) scheduler.plan(at)
    },
    /** A refresh succeeded (or a new pair arrived): failures are forgotten. */
    succeeded: reset,
    /** The session ended or locked: nothing is planned, nothing remembered. */
    end() {
      scheduler.cancel()
      reset()
    },
    /** A refresh failed but the session stays: plan the retry; returns its delay. */
    failed(error: LatchkeyError): number {
      failures++
      lastError = error
      const delay = backoffDelay(failures, deps.random, deps.backoff)
      blockedUntil = deps.clock.monotonic() + delay
      if (!halted) scheduler.plan(blockedUntil)
      return delay
    },
    /**
     * While a retry waits after a network failure, a new need does not start a refresh of its
     * own: it waits for the planned retry when that is due within `waitMs` (and can run: online,
     * in the foreground), else it gets the last error at once. Null: go ahead.
     */
    hold(waitMs: number): { wait: Promise<LatchkeyError | null> } | { error: LatchkeyError } | null {
      if (lastError === null || blockedUntil === null || !isNetworkError(lastError)) return null
      const left = blockedUntil - deps.clock.monotonic()
      if (left <= 0) return null
      if (left > waitMs || halted || !deps.isOnline() || !deps.isForeground()) return { error: lastError }
      return { wait: new Promise<LatchkeyError | null>((resolve) => waiters.push(resolve)) }
    },
    /** Connectivity or the foreground returned: true when a refresh should run now. */
    resume(): boolean {
      if (lastError === null && !dueWhileOffline) return false
      blockedUntil = null
      dueWhileOffline = false
      release(null)
      return true
    },
    foregroundChanged() {
      scheduler.foregroundChanged()
      // In the background nothing fires: a need waiting for the retry gets the last error now.
      if (!deps.isForeground()) release(lastError)
    },
    /** The client stopped: nothing fires and nothing is planned until `resumeScheduling`. */
    halt() {
      halted = true
      scheduler.cancel()
      release(lastError ?? null)
    },
    resumeScheduling() {
      halted = false
    },
  }
}

export type Retryer = ReturnType<typeof createRetryer>
