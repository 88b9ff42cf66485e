import type { Clock, TimerHandle, Timers } from '../env/ambient.js'

// setTimeout overflows above 2^31-1 ms; long waits are re-armed in chunks.
const MAX_DELAY = 2_147_483_647

/**
 * One pending wake-up on the monotonic timeline (proactive refresh or a retry). It is armed only
 * in the foreground; returning to the foreground re-arms it, firing at once if it is overdue.
 */
export function createScheduler(deps: { clock: Clock; timers: Timers; isForeground: () => boolean; onDue: () => void }) {
  let dueAt: number | null = null
  let handle: TimerHandle | null = null

  const disarm = () => {
    if (handle !== null) deps.timers.clearTimeout(handle)
    handle = null
  }
  const arm = () => {
    disarm()
    if (dueAt === null || !deps.isForeground()) return
    const delay = Math.min(MAX_DELAY, Math.max(0, dueAt - deps.clock.monotonic()))
    handle = deps.timers.setTimeout(fire, delay)
  }
  const fire = () => {
    handle = null
    if (dueAt === null || !deps.isForeground()) return
    if (deps.clock.monotonic() < dueAt) return arm()
    dueAt = null
    deps.onDue()
  }

  return {
    plan(at: number) {
      dueAt = at
      arm()
    },
    cancel() {
      dueAt = null
      disarm()
    },
    foregroundChanged: arm,
    get dueAt() {
      return dueAt
    },
  }
}

export type Scheduler = ReturnType<typeof createScheduler>
