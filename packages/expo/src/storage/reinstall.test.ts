import { describe, expect, it } from 'vitest'
import { createFakeAsyncStorage } from '../test-support/fake-async-storage.js'
import { createFakeSecureStore } from '../test-support/fake-secure-store.js'
import { textOfBytes } from '../test-support/values.js'
import { clearSecureItemsOnReinstall, withReinstallCheck } from './reinstall.js'
import { createSecureStoreStorage } from './secure-store-storage.js'

const setup = async () => {
  const fake = createFakeSecureStore({ maxValueBytes: 2048 })
  const secure = createSecureStoreStorage({ secureStore: fake.module })
  // The previous install left a (chunked) session and a revocation record in the Keychain.
  await secure.setItem('latchkey.session', textOfBytes(5000))
  await secure.setItem('latchkey.session.revocations', '{"v":1,"items":[]}')
  return { fake, secure }
}

describe('iOS reinstall: first-launch marker in AsyncStorage', () => {
  it('no marker: stale secure items (and their pieces) are cleared, then the marker is set', async () => {
    const { fake, secure } = await setup()
    const async = createFakeAsyncStorage()
    const storage = withReinstallCheck(secure, { asyncStorage: async.storage })
    expect(await storage.getItem('latchkey.session')).toBeNull()
    expect(fake.keys()).toEqual([])
    expect(async.data.get('latchkey.installed')).toBe('1')
  })

  it('marker present: nothing is deleted', async () => {
    const { fake, secure } = await setup()
    const before = fake.keys()
    const async = createFakeAsyncStorage({ 'latchkey.installed': '1' })
    const storage = withReinstallCheck(secure, { asyncStorage: async.storage })
    expect(await storage.getItem('latchkey.session')).toBe(textOfBytes(5000))
    expect(fake.keys()).toEqual(before)
  })

  it('AsyncStorage unreadable: nothing is deleted and the session is still read', async () => {
    const { fake, secure } = await setup()
    const before = fake.keys()
    const async = createFakeAsyncStorage()
    async.setFailReads(true)
    expect(await clearSecureItemsOnReinstall(secure, { asyncStorage: async.storage })).toMatchObject({ firstLaunch: 'unknown' })
    expect(fake.keys()).toEqual(before)
  })

  it('a crash while clearing leaves the marker unset, so the next launch clears again', async () => {
    const { fake, secure } = await setup()
    const async = createFakeAsyncStorage()
    fake.crashAt(4)
    expect(await clearSecureItemsOnReinstall(secure, { asyncStorage: async.storage })).toMatchObject({ firstLaunch: 'unknown' })
    expect(async.data.has('latchkey.installed')).toBe(false)
    fake.restart()
    const again = createSecureStoreStorage({ secureStore: fake.module })
    expect(await clearSecureItemsOnReinstall(again, { asyncStorage: async.storage })).toEqual({ firstLaunch: true })
    expect(fake.keys()).toEqual([])
  })

  it('runs once per storage, before the first operation', async () => {
    const { secure } = await setup()
    const async = createFakeAsyncStorage()
    const storage = withReinstallCheck(secure, { asyncStorage: async.storage })
    await Promise.all([storage.getItem('latchkey.session'), storage.setItem('latchkey.session', 'new')])
    expect(await storage.getItem('latchkey.session')).toBe('new')
    expect(async.calls.filter((c) => c.op === 'get')).toHaveLength(1)
  })
})
