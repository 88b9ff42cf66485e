/**
 * Serialises refreshes that share one storage. Not re-entrant on purpose: the engine takes it
 * once per refresh and never calls back into itself while holding it.
 */
export interface SessionLock {
  run<T>(task: () => Promise<T>): Promise<T>
}

/** A FIFO mutex for one JS context. Share one instance between clients that share a storage. */
export function inProcessLock(): SessionLock {
  let tail: Promise<unknown> = Promise.resolve()
  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      const result = tail.then(task)
      // The next holder waits for this one to settle, whatever its outcome.
      tail = result.catch(() => undefined)
      return result
    },
  }
}

/** The part of the Web Locks API (`navigator.locks`) the engine uses. */
export interface LockManagerLike {
  request<T>(name: string, options: { mode?: 'exclusive' | 'shared' }, callback: () => Promise<T>): Promise<T>
}

/**
 * Cross-tab lock on the Web Locks API: one refresh at a time across every tab of the origin.
 * Falls back to an in-process lock where `navigator.locks` does not exist (React Native).
 */
export function webLocks(options: { locks?: LockManagerLike; name?: string } = {}): SessionLock {
  const name = options.name ?? 'latchkey.refresh'
  const fallback = inProcessLock()
  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      const locks =
        options.locks ?? (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks
      if (!locks) return fallback.run(task)
      return locks.request(name, { mode: 'exclusive' }, () => task())
    },
  }
}
