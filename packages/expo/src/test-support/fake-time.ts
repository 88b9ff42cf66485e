import type { Clock, Timers } from '@latchkey/core'

/** A manual clock and timers: `advance(ms)` runs what falls due, in order. */
export function createFakeTime(start = 1_000_000) {
  let now = start
  let nextId = 1
  const pending = new Map<number, { at: number; fn: () => void }>()
  const clock: Clock = { now: () => now, monotonic: () => now }
  const timers: Timers = {
    setTimeout(fn, ms) {
      const id = nextId++
      pending.set(id, { at: now + Math.max(0, ms), fn })
      return id
    },
    clearTimeout: (id) => void pending.delete(id as number),
  }
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r))
  }
  return {
    clock,
    timers,
    flush,
    async advance(ms: number) {
      const target = now + ms
      await flush()
      for (;;) {
        const due = [...pending.entries()].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0]
        if (!due) break
        pending.delete(due[0])
        now = due[1].at
        due[1].fn()
        await flush()
      }
      now = target
      await flush()
    },
  }
}
