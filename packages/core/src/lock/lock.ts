/**
 * Serialises refreshes that share one storage. Not re-entrant on purpose: the engine takes it
 * once per refresh and never calls back into itself while holding it.
 */
export interface SessionLock {
  /** `grant.waited`: another holder had the lock when this one asked (custom locks may omit it). */
  run<T>(task: (grant?: LockGrant) => Promise<T>): Promise<T>
}

export interface LockGrant {
  /** The lock was held by someone else when requested: they may have just rotated the pair. */
  waited: boolean
}

/** A FIFO mutex for one JS context. Share one instance between clients that share a storage. */
export function inProcessLock(): SessionLock {
  let tail: Promise<unknown> = Promise.resolve()
  let pending = 0
  return {
    run<T>(task: (grant?: LockGrant) => Promise<T>): Promise<T> {
      const waited = pending > 0
      pending++
      const result = tail.then(() => task({ waited })).finally(() => void pending--)
      // The next holder waits for this one to settle, whatever its outcome.
      tail = result.catch(() => undefined)
      return result
    },
  }
}

/** The part of the Web Locks API (`navigator.locks`) the engine uses. */
export interface LockManagerLike {
  request<T>(name: string, options: { mode?: 'exclusive' | 'shared'; ifAvailable?: boolean }, callback: (lock: unknown) => Promise<T>): Promise<T>
}

/**
 * Cross-tab lock on the Web Locks API: one refresh at a time across every tab of the origin.
 * Falls back to an in-process lock where `navigator.locks` does not exist (React Native).
 */
export function webLocks(options: { locks?: LockManagerLike; name?: string } = {}): SessionLock {
  const name = options.name ?? 'latchkey.refresh'
  const fallback = inProcessLock()
  return {
    run<T>(task: (grant?: LockGrant) => Promise<T>): Promise<T> {
      const locks =
        options.locks ?? (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks
      if (!locks) return fallback.run(task)
      // `ifAvailable` first, to learn whether another tab holds it (then it may have just rotated).
      return locks.request(name, { mode: 'exclusive', ifAvailable: true }, (lock) =>
        lock ? task({ waited: false }) : locks.request(name, { mode: 'exclusive' }, () => task({ waited: true })),
      )
    },
  }
}
