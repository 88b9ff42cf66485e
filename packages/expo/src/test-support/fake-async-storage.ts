import type { AsyncStorageLike } from '../storage/types.js'

/** An in-memory AsyncStorage with a call log and crash injection, like the secure-store fake. */
export function createFakeAsyncStorage(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial))
  const calls: Array<{ op: 'get' | 'set' | 'remove'; key: string }> = []
  let crashAt: number | null = null
  let crashed = false
  let failReads = false

  const native = async <T>(op: 'get' | 'set' | 'remove', key: string, run: () => T): Promise<T> => {
    if (crashed) throw new Error('process is gone (fake crash)')
    calls.push({ op, key })
    if (crashAt !== null && calls.length === crashAt) {
      crashAt = null
      crashed = true
      throw new Error(`fake crash at AsyncStorage call ${calls.length}`)
    }
    if (failReads && op === 'get') throw new Error('AsyncStorage read failed')
    return run()
  }

  const storage: AsyncStorageLike = {
    getItem: (key) => native('get', key, () => data.get(key) ?? null),
    setItem: (key, value) => native('set', key, () => void data.set(key, value)),
    removeItem: (key) => native('remove', key, () => void data.delete(key)),
  }
  return {
    storage,
    data,
    calls,
    crashAt(k: number) {
      crashAt = calls.length + k
    },
    restart() {
      crashed = false
      crashAt = null
    },
    setFailReads(fail: boolean) {
      failReads = fail
    },
  }
}
