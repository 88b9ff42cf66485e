// Finding 14 (OWASP MASVS-AUTH-2, MASVS-STORAGE-1): the lock preference lived in AsyncStorage,
// where setting it to 'off' skipped the prompt. It lives in the secure store now.
import { describe, expect, it } from 'vitest'
import { createFakeAsyncStorage } from '../test-support/fake-async-storage.js'
import { createFakeSecureStore } from '../test-support/fake-secure-store.js'
import { createLockPreference } from './lock-preference.js'

const LEGACY = 'app.biometric-lock'

function setup(asyncInit: Record<string, string> = {}) {
  const fake = createFakeSecureStore()
  const async = createFakeAsyncStorage(asyncInit)
  const pref = createLockPreference({ secureStore: fake.module, legacy: { asyncStorage: async.storage, key: LEGACY } })
  return { fake, async, pref }
}

describe('lock preference', () => {
  it('is kept in the secure store, this device only', async () => {
    const { fake, async, pref } = setup()
    expect(await pref.get()).toBe(false)
    await pref.set(true)
    expect(fake.peek('latchkey.biometric-lock')).toBe('on')
    expect(fake.item('latchkey.biometric-lock')?.keychainAccessible).toBe(fake.module.WHEN_UNLOCKED_THIS_DEVICE_ONLY)
    expect(async.calls.filter((c) => c.op === 'set')).toEqual([])
    expect(await pref.get()).toBe(true)
    await pref.set(false)
    expect(await pref.get()).toBe(false)
  })

  it('tampering with AsyncStorage does not disable the lock', async () => {
    const { async, pref } = setup()
    await pref.set(true)
    await async.storage.setItem(LEGACY, 'off')
    expect(await pref.get()).toBe(true)
    await async.storage.removeItem(LEGACY)
    expect(await pref.get()).toBe(true)
  })

  it("an older AsyncStorage 'on' is carried over into the secure store; an AsyncStorage 'off' is never read as off", async () => {
    const on = setup({ [LEGACY]: 'on' })
    expect(await on.pref.get()).toBe(true)
    expect(on.fake.peek('latchkey.biometric-lock')).toBe('on')
    await on.async.storage.setItem(LEGACY, 'off')
    expect(await on.pref.get()).toBe(true)
  })

  it('an unreadable secure store (device locked) keeps the lock on', async () => {
    const { fake, pref } = setup()
    await pref.set(false)
    fake.setDeviceLocked(true)
    expect(await pref.get()).toBe(true)
  })
})
