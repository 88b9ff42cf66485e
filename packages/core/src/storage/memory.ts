import type { SessionStorage } from './types.js'

/** A process-local storage adapter; the session does not survive a restart. */
export function memoryStorage(initial?: Record<string, string>): SessionStorage {
  const map = new Map<string, string>(Object.entries(initial ?? {}))
  return {
    getItem: async (key) => map.get(key) ?? null,
    setItem: async (key, value) => {
      map.set(key, value)
    },
    removeItem: async (key) => {
      map.delete(key)
    },
  }
}
