import type { Clock, TimerHandle, Timers } from '../env/ambient.js'

interface Pending {
  id: number
  at: number
  callback: () => void
}

// A macrotask turn: setImmediate where it exists (Node), else a zero timeout (browsers, Hermes).
const nextTurn: (resolve: () => void) => void =
  (globalThis as { setImmediate?: (fn: () => void) => void }).setImmediate ?? ((resolve) => void setTimeout(resolve, 0))

/** Lets pending promise chains run (a real macrotask turn; no fake time passes). */
export const settle = async (turns = 3) => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => nextTurn(resolve))
}

/**
 * A clock whose wall time and monotonic time move independently, and timers on the monotonic
 * timeline. `advance` runs due timers in order; `jumpWall` changes only the wall clock.
 */
export function createFakeTime(start: { wall?: number; monotonic?: number } = {}) {
  let wall = start.wall ?? Date.UTC(2030, 0, 1)
  let mono = start.monotonic ?? 10_000
  let nextId = 1
  const pending = new Map<number, Pending>()

  const clock: Clock = { now: () => wall, monotonic: () => mono }
  const timers: Timers = {
    setTimeout(callback, ms) {
      const id = nextId++
      pending.set(id, { id, at: mono + Math.max(0, ms), callback })
      return id
    },
    clearTimeout(handle: TimerHandle) {
      pending.delete(handle as number)
    },
  }

  const nextDue = (limit: number) => {
    let best: Pending | undefined
    for (const p of pending.values()) if (p.at <= limit && (!best || p.at < best.at || (p.at === best.at && p.id < best.id))) best = p
    return best
  }

  return {
    clock,
    timers,
    /** Moves both clocks forward by `ms`, running every timer that falls due, in order. */
    async advance(ms: number) {
      const target = mono + ms
      await settle()
      for (let due = nextDue(target); due; due = nextDue(target)) {
        wall += due.at - mono
        mono = due.at
        pending.delete(due.id)
        due.callback()
        await settle()
      }
      wall += target - mono
      mono = target
      await settle()
    },
    /** The user changes the device clock: wall time only. */
    jumpWall(deltaMs: number) {
      wall += deltaMs
    },
    get wall() {
      return wall
    },
    get monotonic() {
      return mono
    },
    pendingTimers: () => pending.size,
  }
}

export type FakeTime = ReturnType<typeof createFakeTime>
