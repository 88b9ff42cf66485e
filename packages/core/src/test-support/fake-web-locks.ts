import type { LockManagerLike } from '../lock/lock.js'

/**
 * The Web Locks API's exclusive `request(name, [options], callback)` semantics: the callback runs
 * once the named lock is granted, the lock is held until the callback's promise settles, and
 * `request` resolves with the callback's result; with `ifAvailable` a held lock is not waited for
 * and the callback gets null. One instance stands for one origin.
 */
export function fakeWebLocks(): LockManagerLike & { held: Set<string>; maxConcurrent: number } {
  const queues = new Map<string, Array<() => void>>()
  const held = new Set<string>()
  const state = { held, maxConcurrent: 0 }

  const release = (name: string) => {
    held.delete(name)
    const next = queues.get(name)?.shift()
    if (next) next()
  }

  const request = <T>(name: string, optionsOrCallback: unknown, maybeCallback?: (lock: unknown) => Promise<T>): Promise<T> => {
    const callback = (typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback) as (lock: unknown) => Promise<T>
    const options = (typeof optionsOrCallback === 'object' ? optionsOrCallback : {}) as { ifAvailable?: boolean }
    return new Promise<T>((resolve, reject) => {
      const grant = () => {
        held.add(name)
        state.maxConcurrent = Math.max(state.maxConcurrent, held.size)
        Promise.resolve()
          .then(() => callback({ name, mode: 'exclusive' }))
          .then(resolve, reject)
          .finally(() => release(name))
      }
      // `ifAvailable` (Web Locks API): a held lock is not waited for; the callback gets null.
      if (held.has(name) && options.ifAvailable) return void Promise.resolve().then(() => callback(null)).then(resolve, reject)
      if (!held.has(name)) grant()
      else {
        const queue = queues.get(name) ?? []
        queue.push(grant)
        queues.set(name, queue)
      }
    })
  }
  return Object.assign(state, { request: request as LockManagerLike['request'] })
}
