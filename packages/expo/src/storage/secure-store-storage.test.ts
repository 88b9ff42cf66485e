import { createSessionClient, silentLogger } from '@latchkey/core'
import { describeStorageContract } from '@latchkey/core/testing'
import { describe, expect, it } from 'vitest'
import { createFakeSecureStore } from '../test-support/fake-secure-store.js'
import { textOfBytes, utf8 } from '../test-support/values.js'
import { isSecureStoreAuthCancel } from './errors.js'
import { createSecureStoreStorage } from './secure-store-storage.js'

const makeStorage = (options: Parameters<typeof createFakeSecureStore>[0] = {}, extra: Partial<Parameters<typeof createSecureStoreStorage>[0]> = {}) => {
  const fake = createFakeSecureStore({ maxValueBytes: 2048, ...options })
  return { fake, storage: createSecureStoreStorage({ secureStore: fake.module, ...extra }) }
}

describeStorageContract('secureStoreStorage (fake expo-secure-store, 2048-byte limit)', () => makeStorage().storage)
describeStorageContract('secureStoreStorage with requireAuthentication', () => makeStorage({}, { requireAuthentication: true }).storage)
describeStorageContract('secureStoreStorage with native latency', () => makeStorage({ latency: 1 }).storage, { largeValueBytes: 8 * 1024 })

describe('the fake expo-secure-store is faithful', () => {
  it('a requireAuthentication item is read only through the OS prompt; canUseBiometricAuthentication() is sync', async () => {
    const fake = createFakeSecureStore()
    expect(fake.module.canUseBiometricAuthentication()).toBe(true)
    fake.setBiometricsAvailable(false)
    expect(fake.module.canUseBiometricAuthentication()).toBe(false)
    await fake.module.setItemAsync('plain', 'p')
    await fake.module.setItemAsync('guarded', 'g', { requireAuthentication: true })
    expect(await fake.module.getItemAsync('plain')).toBe('p')
    expect(fake.osPrompts).toBe(0)
    fake.setAuthenticator(() => 'cancel')
    await expect(fake.module.getItemAsync('guarded')).rejects.toMatchObject({ code: 'ERR_KEY_CHAIN', message: 'User canceled the operation.' })
    fake.setAuthenticator(() => 'success')
    expect(await fake.module.getItemAsync('guarded')).toBe('g')
    expect(fake.osPrompts).toBe(2)
  })

  it('with requireAuthentication, a value written without it is not accepted (reported invalidated, not read)', async () => {
    const fake = createFakeSecureStore()
    await createSecureStoreStorage({ secureStore: fake.module }).setItem('s', 'plain-session')
    const guarded = createSecureStoreStorage({ secureStore: fake.module, requireAuthentication: true })
    await expect(guarded.getItem('s')).rejects.toMatchObject({ code: 'LK_CREDENTIAL_INVALIDATED' })
    await fake.module.setItemAsync('legacy', 'raw')
    await expect(guarded.getItem('legacy')).rejects.toMatchObject({ code: 'LK_CREDENTIAL_INVALIDATED' })
    await guarded.setItem('s', 'guarded-session')
    expect(await guarded.getItem('s')).toBe('guarded-session')
  })

  it('rejects keys the real module rejects, before any native call', async () => {
    const fake = createFakeSecureStore()
    for (const key of ['', 'has space', 'slash/no', 'ü', 'a:b']) {
      await expect(fake.module.setItemAsync(key, 'x')).rejects.toThrow(/Invalid key/)
      await expect(fake.module.getItemAsync(key)).rejects.toThrow(/Invalid key/)
    }
    await expect(fake.module.setItemAsync('ok.key_-1', 'x')).resolves.toBeUndefined()
    expect(fake.calls).toHaveLength(1)
  })

  it('enforces the value size limit of older platforms in UTF-8 bytes', async () => {
    const fake = createFakeSecureStore({ maxValueBytes: 2048 })
    await expect(fake.module.setItemAsync('k', 'é'.repeat(1024))).resolves.toBeUndefined()
    await expect(fake.module.setItemAsync('k', 'é'.repeat(1025))).rejects.toMatchObject({ code: 'ERR_WRITE' })
  })

  it('partitions items by keychainService and logs every call without values', async () => {
    const fake = createFakeSecureStore()
    await fake.module.setItemAsync('k', 'secret-value', { keychainService: 'a' })
    expect(await fake.module.getItemAsync('k', { keychainService: 'b' })).toBeNull()
    expect(await fake.module.getItemAsync('k', { keychainService: 'a' })).toBe('secret-value')
    expect(JSON.stringify(fake.calls)).not.toContain('secret-value')
  })

  it('crashes at the k-th call: that call and every later one throw until restart', async () => {
    const fake = createFakeSecureStore()
    fake.crashAt(2)
    await fake.module.setItemAsync('a', '1')
    await expect(fake.module.setItemAsync('b', '2')).rejects.toMatchObject({ code: 'ERR_FAKE_CRASH' })
    await expect(fake.module.getItemAsync('a')).rejects.toThrow()
    fake.restart()
    expect(fake.keys()).toEqual(['a'])
  })

  it('applies per-call latency through the injected delay', async () => {
    const waits: number[] = []
    const fake = createFakeSecureStore({ latency: (c) => (c.op === 'set' ? 5 : 1), delay: async (ms) => void waits.push(ms) })
    await fake.module.setItemAsync('a', '1')
    await fake.module.getItemAsync('a')
    expect(waits).toEqual([5, 1])
  })
})

describe('secureStoreStorage', () => {
  it('keeps every native item within the piece size, and reads a small value with one native call', async () => {
    const { fake, storage } = makeStorage()
    const value = textOfBytes(10_000)
    await storage.setItem('sess', value)
    for (const key of fake.keys()) expect(utf8(fake.peek(key)!)).toBeLessThanOrEqual(2048)
    expect(await storage.getItem('sess')).toBe(value)
    await storage.setItem('sess', 'small')
    fake.clearCalls()
    expect(await storage.getItem('sess')).toBe('small')
    expect(fake.calls).toHaveLength(1)
    expect(fake.keys()).toEqual(['sess'])
  })

  it('splits only between code points, so multi-byte text is byte-accurate at every piece size', async () => {
    for (const chunkSize of [64, 65, 66, 67, 100, 2048]) {
      const { storage } = makeStorage({}, { chunkSize })
      const value = textOfBytes(5000, 'z')
      await storage.setItem('u', value)
      const back = await storage.getItem('u')
      expect(back).toBe(value)
      expect(utf8(back!)).toBe(utf8(value))
    }
  })

  it('uses WHEN_UNLOCKED_THIS_DEVICE_ONLY by default and the given keychainService on every call', async () => {
    const { fake, storage } = makeStorage({}, { keychainService: 'app.auth' })
    await storage.setItem('s', textOfBytes(5000))
    await storage.getItem('s')
    await storage.removeItem('s')
    expect(fake.calls.length).toBeGreaterThan(5)
    for (const call of fake.calls) expect(call.options).toMatchObject({ keychainAccessible: 6, keychainService: 'app.auth' })
  })

  it('honours another keychainAccessible', async () => {
    const { fake, storage } = makeStorage({}, { keychainAccessible: fake0().AFTER_FIRST_UNLOCK })
    await storage.setItem('s', 'v')
    expect(fake.item('s')?.keychainAccessible).toBe(0)
  })

  it('rejects invalid keys with a TypeError and no native call', async () => {
    const { fake, storage } = makeStorage()
    await expect(storage.getItem('bad key')).rejects.toThrow(TypeError)
    await expect(storage.setItem('', 'x')).rejects.toThrow(TypeError)
    expect(fake.calls).toHaveLength(0)
  })

  it('reads a value written by plain SecureStore.setItemAsync as is', async () => {
    const { fake, storage } = makeStorage()
    await fake.module.setItemAsync('legacy', '{"v":1}')
    expect(await storage.getItem('legacy')).toBe('{"v":1}')
  })

  it('serialises operations on one key: concurrent writes and reads never see a mix', async () => {
    let n = 0
    const { storage } = makeStorage({ latency: () => (n++ % 3), delay: (ms) => new Promise((r) => setTimeout(r, ms)) })
    const values = [textOfBytes(5000, 'a'), 'small', textOfBytes(3000, 'b'), textOfBytes(9000, 'c')]
    const ops: Promise<unknown>[] = []
    const reads: Promise<string | null>[] = []
    for (const v of values) {
      ops.push(storage.setItem('k', v))
      reads.push(storage.getItem('k'))
    }
    await Promise.all(ops)
    for (const r of await Promise.all(reads)) expect(values).toContain(r)
    expect(await storage.getItem('k')).toBe(values.at(-1))
  })
})

const fake0 = () => createFakeSecureStore().module

describe('read failures are never a silent sign-out', () => {
  it('an invalidated key is reported as LK_CREDENTIAL_INVALIDATED, and reading deletes nothing', async () => {
    const { fake, storage } = makeStorage()
    await storage.setItem('s', 'value')
    fake.invalidate('s')
    await expect(storage.getItem('s')).rejects.toMatchObject({ code: 'LK_CREDENTIAL_INVALIDATED' })
    expect(fake.keys()).toEqual(['s'])
  })

  it('with requireAuthentication, a piece the OS invalidated (native read answers null) is reported, not "no session"', async () => {
    const { fake, storage } = makeStorage({}, { requireAuthentication: true })
    await storage.setItem('s', 'small value')
    expect(fake.item('s')?.requireAuthentication).toBe(false)
    fake.invalidateAuthenticated({ mode: 'null' })
    await expect(storage.getItem('s')).rejects.toMatchObject({ code: 'LK_CREDENTIAL_INVALIDATED' })
  })

  it('device locked before first unlock: a different code, nothing deleted, readable after unlock', async () => {
    const { fake, storage } = makeStorage()
    await storage.setItem('s', textOfBytes(6000))
    const before = fake.keys()
    fake.setDeviceLocked(true)
    await expect(storage.getItem('s')).rejects.toMatchObject({ code: 'LK_SECURE_STORE_UNAVAILABLE' })
    await expect(storage.setItem('s', 'x')).rejects.toThrow()
    fake.setDeviceLocked(false)
    expect(fake.keys()).toEqual(before)
    expect(await storage.getItem('s')).toBe(textOfBytes(6000))
  })

  it('a cancelled SecureStore prompt is transient, with its own code', async () => {
    const { fake, storage } = makeStorage({}, { requireAuthentication: true })
    await storage.setItem('s', 'v')
    fake.setAuthenticator(() => 'cancel')
    await expect(storage.getItem('s')).rejects.toMatchObject({ code: 'LK_SECURE_STORE_AUTH_CANCELLED' })
    fake.setAuthenticator(null)
    expect(await storage.getItem('s')).toBe('v')
  })

  it("the native cancel is recognised by expo-secure-store's codes and words (iOS ERR_KEY_CHAIN, Android ERR_AUTHENTICATION), nothing else", () => {
    const coded = (code: string, message: string) => Object.assign(new Error(message), { code })
    expect(isSecureStoreAuthCancel(coded('ERR_KEY_CHAIN', 'User canceled the operation.'))).toBe(true)
    expect(isSecureStoreAuthCancel(coded('ERR_AUTHENTICATION', 'Could not Authenticate the user: User canceled the authentication'))).toBe(true)
    expect(isSecureStoreAuthCancel(coded('ERR_AUTHENTICATION', 'Could not Authenticate the user: Lockout'))).toBe(false)
    expect(isSecureStoreAuthCancel(coded('ERR_KEY_CHAIN', 'User interaction is not allowed.'))).toBe(false)
    expect(isSecureStoreAuthCancel(new Error('User canceled the operation.'))).toBe(false)
  })

  it('through the core: invalidated → signed out with reason credential_invalidated; device locked → session kept', async () => {
    const refresh = async () => ({ access_token: 'never' })
    const { fake, storage } = makeStorage()
    const first = createSessionClient({ storage, refresh, logger: silentLogger })
    await first.signIn({ access_token: 'a1', token_type: 'Bearer', expires_in: 600, refresh_token: 'r1' })
    first.stop()

    fake.setDeviceLocked(true)
    const locked = createSessionClient({ storage: createSecureStoreStorage({ secureStore: fake.module }), refresh, logger: silentLogger })
    await locked.start()
    expect(locked.getState().reason).toBeUndefined()
    expect(locked.getState().error?.code).toBe('LK_STORAGE')
    expect(fake.keys()).toContain('latchkey.session')
    fake.setDeviceLocked(false)
    expect(await locked.getAccessToken()).toBe('a1')
    locked.stop()

    fake.invalidate('latchkey.session')
    const after = createSessionClient({ storage: createSecureStoreStorage({ secureStore: fake.module }), refresh, logger: silentLogger })
    await after.start()
    expect(after.getState()).toMatchObject({ status: 'signedOut', reason: 'credential_invalidated' })
    after.stop()
  })
})
