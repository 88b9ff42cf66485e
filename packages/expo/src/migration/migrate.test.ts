import type { SessionStorage } from '@latchkey/core'
import { describe, expect, it } from 'vitest'
import { createSecureStoreStorage } from '../storage/secure-store-storage.js'
import { createFakeAsyncStorage } from '../test-support/fake-async-storage.js'
import { createFakeSecureStore } from '../test-support/fake-secure-store.js'
import { textOfBytes } from '../test-support/values.js'
import { runAsyncStorageMigration as migrateFromAsyncStorage } from './migrate.js'

const legacy = { 'auth.session': textOfBytes(4000, 's'), 'auth.device': 'device-7' }

const setup = (initial: Record<string, string> = legacy) => {
  const secureFake = createFakeSecureStore({ maxValueBytes: 2048 })
  const asyncFake = createFakeAsyncStorage(initial)
  const storage = () => createSecureStoreStorage({ secureStore: secureFake.module })
  const run = (s: SessionStorage = storage()) =>
    migrateFromAsyncStorage({ version: 1, keys: Object.keys(legacy), asyncStorage: asyncFake.storage, storage: s })
  return { secureFake, asyncFake, storage, run }
}

describe('migrateFromAsyncStorage', () => {
  it('moves the values, deletes the plaintext, sets the flag; a second run does nothing', async () => {
    const { asyncFake, storage, run } = setup()
    expect(await run()).toEqual({ status: 'migrated', version: 1, keys: ['auth.session', 'auth.device'] })
    expect(await storage().getItem('auth.session')).toBe(legacy['auth.session'])
    expect(asyncFake.data.has('auth.session')).toBe(false)
    expect(asyncFake.data.get('latchkey.migrated')).toBe('1')
    expect(await run()).toEqual({ status: 'already_done', version: 1 })
  })

  it('a new version runs again', async () => {
    const { asyncFake, storage } = setup()
    asyncFake.data.set('latchkey.migrated', '1')
    const result = await migrateFromAsyncStorage({
      version: 2, keys: { 'auth.device': 'device.id' }, asyncStorage: asyncFake.storage, storage: storage(), transform: (v) => `v2:${v}`,
    })
    expect(result.status).toBe('migrated')
    expect(await storage().getItem('device.id')).toBe('v2:device-7')
  })

  it('nothing to migrate still sets the flag', async () => {
    const { asyncFake, run } = setup({})
    expect((await run()).status).toBe('nothing_to_migrate')
    expect(asyncFake.data.get('latchkey.migrated')).toBe('1')
  })

  it('a copy that does not read back intact keeps the plaintext and leaves the flag unset', async () => {
    const { asyncFake, storage } = setup()
    const inner = storage()
    const lossy: SessionStorage = { ...inner, setItem: (k, v) => inner.setItem(k, v.slice(0, -1)) }
    const result = await migrateFromAsyncStorage({ version: 1, keys: Object.keys(legacy), asyncStorage: asyncFake.storage, storage: lossy })
    expect(result).toMatchObject({ status: 'failed', step: 'verify', key: 'auth.session' })
    expect(asyncFake.data.get('auth.session')).toBe(legacy['auth.session'])
    expect(asyncFake.data.has('latchkey.migrated')).toBe(false)
  })

  it('never throws, whatever fails (a throwing transform included)', async () => {
    const { asyncFake, storage } = setup()
    const result = await migrateFromAsyncStorage({
      version: 1, keys: ['auth.device'], asyncStorage: asyncFake.storage, storage: storage(),
      transform: () => {
        throw new Error('bad legacy data')
      },
    })
    expect(result).toMatchObject({ status: 'failed', step: 'transform' })
    expect(asyncFake.data.get('auth.device')).toBe('device-7')
  })

  for (const where of ['secure store', 'AsyncStorage'] as const) {
    it(`a crash at any ${where} call loses nothing; the next launch finishes the job`, async () => {
      const probe = setup()
      await probe.run()
      const total = where === 'secure store' ? probe.secureFake.calls.length : probe.asyncFake.calls.length
      for (let k = 1; k <= total; k++) {
        const { secureFake, asyncFake, storage, run } = setup()
        if (where === 'secure store') secureFake.crashAt(k)
        else asyncFake.crashAt(k)
        const first = await run()
        expect(first.status, `crash at ${where} call ${k}`).toBe('failed')
        expect(asyncFake.data.has('latchkey.migrated')).toBe(false)
        secureFake.restart()
        asyncFake.restart()
        // Invariant: every value is readable from one store or the other, intact.
        for (const [key, value] of Object.entries(legacy)) {
          const plain = asyncFake.data.get(key)
          const secure = await storage().getItem(key)
          expect(plain === value || secure === value, `${key} lost after crash at ${where} call ${k}`).toBe(true)
          // Plaintext is gone only if a verified copy exists.
          if (plain === undefined) expect(secure).toBe(value)
        }
        // 'nothing_to_migrate' when the crash hit after the last plaintext delete.
        expect(['migrated', 'nothing_to_migrate']).toContain((await run()).status)
        for (const [key, value] of Object.entries(legacy)) {
          expect(await storage().getItem(key)).toBe(value)
          expect(asyncFake.data.has(key)).toBe(false)
        }
        expect(asyncFake.data.get('latchkey.migrated')).toBe('1')
      }
    })
  }

  it('a rerun never overwrites a newer secure value with the stale plaintext', async () => {
    const { asyncFake, storage, run } = setup()
    asyncFake.crashAt(5) // after both verified copies, at the second plaintext delete
    expect((await run()).status).toBe('failed')
    asyncFake.restart()
    await storage().setItem('auth.session', 'rotated-since')
    expect((await run()).status).toBe('migrated')
    expect(await storage().getItem('auth.session')).toBe('rotated-since')
  })
  it("migrates into the session's own storage: with the OS-enforced biometric lock the migrated session is readable after the prompt; into a plain store it would be refused", async () => {
    const secureFake = createFakeSecureStore({ maxValueBytes: 2048 })
    // What expoSessionOptions({ startLocked: true }) builds where the OS enforces the lock.
    const locked = () => createSecureStoreStorage({ secureStore: secureFake.module, requireAuthentication: true })
    const plain = () => createSecureStoreStorage({ secureStore: secureFake.module })
    const legacySession = { 'auth.session': textOfBytes(600, 's') }

    const right = createFakeAsyncStorage(legacySession)
    const done = await migrateFromAsyncStorage({ version: 1, keys: { 'auth.session': 'latchkey.session' }, asyncStorage: right.storage, storage: locked() })
    expect(done.status).toBe('migrated')
    expect(await locked().getItem('latchkey.session')).toBe(legacySession['auth.session'])
    expect(secureFake.osPrompts).toBeGreaterThan(0) // the read went through the OS prompt

    // The mistake the README warns about: migrating into a store without requireAuthentication.
    const wrong = createFakeAsyncStorage(legacySession)
    await migrateFromAsyncStorage({ version: 1, keys: { 'auth.session': 'other.session' }, asyncStorage: wrong.storage, storage: plain() })
    await expect(locked().getItem('other.session')).rejects.toMatchObject({ code: 'LK_CREDENTIAL_INVALIDATED' }) // the session would end: a sign-out nobody asked for
  })
})
