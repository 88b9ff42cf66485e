import { memoryStorage, type SessionStorage } from '@latchkey/core'

/** The Web Storage API (`window.localStorage`), as far as we use it. */
export interface WebStorageLike {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

const SECRET_FIELD = /^(access_?token|refresh_?token|id_?token|token)$/i

/** Whether a JSON value carries a token (any property named like one holding a non-empty string). */
export function containsSecret(raw: string): boolean {
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    return false
  }
  const walk = (v: unknown): boolean => {
    if (Array.isArray(v)) return v.some(walk)
    if (typeof v !== 'object' || v === null) return false
    return Object.entries(v).some(([k, x]) => (SECRET_FIELD.test(k) && typeof x === 'string' && x !== '') || walk(x))
  }
  return walk(parsed)
}

const browserStorage = (given?: WebStorageLike): WebStorageLike | null =>
  given ?? (globalThis as { localStorage?: WebStorageLike }).localStorage ?? null

function adapter(store: WebStorageLike | null, guard: (value: string) => void): SessionStorage {
  // No localStorage (static rendering in Node): keep the session in memory for this render only.
  if (!store) return memoryStorage()
  return {
    getItem: async (key) => store.getItem(key),
    setItem: async (key, value) => {
      guard(value)
      store.setItem(key, value)
    },
    removeItem: async (key) => store.removeItem(key),
  }
}

/**
 * Web storage for cookie mode (`persistTokens: 'none'`): keeps only that a session exists and its
 * metadata, so a reload knows to refresh through the httpOnly cookie. It refuses any value that
 * carries a token, so a misconfiguration cannot put a secret where page scripts can read it.
 */
export function webStorage(options: { localStorage?: WebStorageLike } = {}): SessionStorage {
  return adapter(browserStorage(options.localStorage), (value) => {
    if (containsSecret(value)) {
      throw new TypeError("webStorage keeps no tokens: create the client with persistTokens: 'none' (see webSessionOptions)")
    }
  })
}

/**
 * The fallback for servers that cannot deliver the refresh token as an httpOnly cookie: the whole
 * pair in localStorage. WEAKER: any script running on the origin (an XSS bug, a compromised
 * dependency) can read the refresh token and use it elsewhere. Use it only when the server gives
 * no other choice, with short refresh-token lifetimes and rotation.
 */
export function insecureLocalStorage(options: { localStorage?: WebStorageLike } = {}): SessionStorage {
  return adapter(browserStorage(options.localStorage), () => undefined)
}
