/**
 * The storage contract suite: every SessionStorage adapter (memory, secure-store, web) runs the
 * same tests. Import from '@latchkey/core/testing' inside a vitest test file.
 */
import { describe, expect, it } from 'vitest'
import { silentLogger } from './env/ambient.js'
import { createSessionClient } from './session/client.js'
import type { SessionStorage } from './storage/types.js'

/** A fake clock (wall and monotonic apart) with timers on it, for driving a client's time in tests. */
export { createFakeTime, settle, type FakeTime } from './test-support/fake-time.js'

export interface StorageContractOptions {
  /** Size of the large-value test in bytes of UTF-8 (default 64 KiB). */
  largeValueBytes?: number
  /** Called after each test with the storage it used. */
  cleanup?: (storage: SessionStorage) => Promise<void> | void
  /** Prefix for the keys the suite writes (keys stay within [A-Za-z0-9._-]). */
  keyPrefix?: string
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length

export function describeStorageContract(
  name: string,
  makeStorage: () => SessionStorage | Promise<SessionStorage>,
  options: StorageContractOptions = {},
): void {
  const prefix = options.keyPrefix ?? 'lk-contract'
  const key = (k: string) => `${prefix}.${k}`
  const withStorage = (fn: (storage: SessionStorage) => Promise<void>) => async () => {
    const storage = await makeStorage()
    try {
      await fn(storage)
    } finally {
      await options.cleanup?.(storage)
    }
  }

  describe(`SessionStorage contract: ${name}`, () => {
    it('returns null for a key that was never set', withStorage(async (s) => {
      expect(await s.getItem(key('missing'))).toBeNull()
    }))

    it('reads back what was set, and an overwrite replaces it', withStorage(async (s) => {
      await s.setItem(key('a'), 'first')
      expect(await s.getItem(key('a'))).toBe('first')
      await s.setItem(key('a'), 'second')
      expect(await s.getItem(key('a'))).toBe('second')
    }))

    it('removes a value, and removing a missing key resolves', withStorage(async (s) => {
      await s.setItem(key('r'), 'x')
      await s.removeItem(key('r'))
      expect(await s.getItem(key('r'))).toBeNull()
      await expect(s.removeItem(key('never'))).resolves.toBeUndefined()
    }))

    it('keeps keys independent', withStorage(async (s) => {
      await s.setItem(key('one'), '1')
      await s.setItem(key('two'), '2')
      await s.removeItem(key('one'))
      expect(await s.getItem(key('one'))).toBeNull()
      expect(await s.getItem(key('two'))).toBe('2')
    }))

    it('stores an empty string as an empty string', withStorage(async (s) => {
      await s.setItem(key('empty'), '')
      expect(await s.getItem(key('empty'))).toBe('')
    }))

    it('round-trips a large value exactly, and a shrink leaves no trace of the old one', withStorage(async (s) => {
      const bytes = options.largeValueBytes ?? 64 * 1024
      let large = ''
      for (let i = 0; large.length < bytes; i++) large += `${i.toString(36)}|`
      large = large.slice(0, bytes)
      await s.setItem(key('large'), large)
      expect(await s.getItem(key('large'))).toBe(large)
      await s.setItem(key('large'), 'small')
      expect(await s.getItem(key('large'))).toBe('small')
    }))

    it('round-trips multi-byte UTF-8 text byte for byte', withStorage(async (s) => {
      // 2-, 3- and 4-byte sequences, combining marks, a ZWJ emoji and a character straddling chunk sizes.
      const unit = 'é漢字🔐👩‍👩‍👧e\u0301Ω'
      const text = unit.repeat(Math.ceil(3000 / utf8Length(unit)))
      await s.setItem(key('utf8'), text)
      const back = await s.getItem(key('utf8'))
      expect(back).toBe(text)
      expect(utf8Length(back ?? '')).toBe(utf8Length(text))
    }))

    it('holds a whole session as one record that a new client restores', withStorage(async (s) => {
      const storageKey = key('session')
      const written = new Set<string>()
      const spy: SessionStorage = {
        getItem: (k) => s.getItem(k),
        setItem: (k, v) => (written.add(k), s.setItem(k, v)),
        removeItem: (k) => s.removeItem(k),
      }
      const refresh = async () => ({ access_token: 'never', token_type: 'Bearer' })
      const first = createSessionClient({ storage: spy, storageKey, refresh, logger: silentLogger })
      await first.signIn({ access_token: 'access-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'refresh-1' })
      expect([...written]).toEqual([storageKey])
      first.stop()
      const second = createSessionClient({ storage: s, storageKey, refresh, logger: silentLogger })
      await second.start()
      expect(second.getState().status).toBe('signedIn')
      expect(await second.getAccessToken()).toBe('access-1')
      await second.signOut()
      expect(await s.getItem(storageKey)).toBeNull()
      second.stop()
    }))

    it('treats corrupt stored data as signed out with a typed error, never a crash', withStorage(async (s) => {
      const storageKey = key('corrupt')
      await s.setItem(storageKey, '{"v":1,"id":')
      const client = createSessionClient({ storage: s, storageKey, refresh: async () => ({ access_token: 'x' }), logger: silentLogger })
      await client.start()
      const state = client.getState()
      expect(state.status).toBe('signedOut')
      expect(state.reason).toBe('storage_corrupt')
      expect(state.error?.code).toBe('LK_STORAGE_CORRUPT')
      expect(await client.getAccessToken()).toBeNull()
      client.stop()
    }))
  })
}
