import { TimeoutError } from '../errors/errors.js'
import type { Timers } from './ambient.js'

export interface DeadlineOptions {
  ms: number
  timers: Timers
  /** The caller's signal: aborting it aborts the task and settles at once. */
  signal?: AbortSignal | undefined
  /** What to reject with when `signal` aborts (default: its reason). */
  onAbort?: (reason: unknown) => unknown
}

/**
 * Runs `task` with a signal that aborts at the deadline or when the caller's signal aborts, and
 * settles by then whether or not the task honours its signal: a task that ignores it (a custom
 * refresh function, a body that stalls where aborts are not wired through) cannot hold its caller
 * (or a lock the caller holds) past the deadline. The deadline rejects with `TimeoutError`.
 */
export function withDeadline<T>(task: (signal: AbortSignal) => Promise<T>, options: DeadlineOptions): Promise<T> {
  const controller = new AbortController()
  const outer = options.signal
  const abortedWith = (reason: unknown) => (options.onAbort ? options.onAbort(reason) : reason)
  if (outer?.aborted) return Promise.reject(abortedWith(outer.reason))
  return new Promise<T>((resolve, reject) => {
    const finish = () => {
      options.timers.clearTimeout(timer)
      outer?.removeEventListener('abort', onOuterAbort)
    }
    const onOuterAbort = () => {
      finish()
      controller.abort(outer?.reason)
      reject(abortedWith(outer?.reason))
    }
    const timer = options.timers.setTimeout(() => {
      finish()
      const error = new TimeoutError(options.ms)
      controller.abort(error)
      reject(error)
    }, options.ms)
    outer?.addEventListener('abort', onOuterAbort, { once: true })
    Promise.resolve()
      .then(() => task(controller.signal))
      .then(
        (value) => {
          finish()
          resolve(value)
        },
        (error: unknown) => {
          finish()
          reject(error)
        },
      )
  })
}

/** Rejects with the signal's reason as soon as it aborts; otherwise settles as `promise` does. */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
