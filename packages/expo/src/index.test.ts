import { randomBytes } from 'node:crypto'
import { createSessionClient, silentLogger } from '@latchkey/core'
import { describe, expect, it, vi } from 'vitest'

// The package entry loads the native modules; here they are the fakes (no react-native, no expo-* code runs).
const native = vi.hoisted(() => ({ os: 'ios', fakes: {} as Record<string, unknown> }))
vi.mock('expo-secure-store', async () => {
  const { createFakeSecureStore } = await import('./test-support/fake-secure-store.js')
  const fake = createFakeSecureStore({ maxValueBytes: 2048 })
  native.fakes.secureStore = fake
  return fake.module
})
vi.mock('expo-local-authentication', async () => {
  const { createFakeLocalAuthentication } = await import('./test-support/fake-local-authentication.js')
  const fake = createFakeLocalAuthentication()
  native.fakes.localAuthentication = fake
  return fake.module
})
vi.mock('@react-native-async-storage/async-storage', async () => {
  const { createFakeAsyncStorage } = await import('./test-support/fake-async-storage.js')
  const fake = createFakeAsyncStorage({ 'legacy.token': 'plaintext-token' })
  native.fakes.asyncStorage = fake
  return { default: fake.storage }
})
vi.mock('@react-native-community/netinfo', async () => {
  const { fakeNetInfo } = await import('./test-support/fake-rn.js')
  return { default: fakeNetInfo() }
})
vi.mock('react-native', async () => {
  const { fakeAppState } = await import('./test-support/fake-rn.js')
  return { AppState: fakeAppState('active'), Platform: { get OS() { return native.os } } }
})

const lk = await import('./index.js')
type Fake<T extends (...a: never[]) => unknown> = ReturnType<T>
const secureStore = () => native.fakes.secureStore as Fake<typeof import('./test-support/fake-secure-store.js').createFakeSecureStore>
const asyncStorage = () => native.fakes.asyncStorage as Fake<typeof import('./test-support/fake-async-storage.js').createFakeAsyncStorage>

describe('@latchkey/expo entry', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(lk).sort()).toEqual([
      'IdpSignInError', 'SecureStoreError', 'SessionGuard', 'SessionProvider', 'TOKEN_DELIVERY_HEADER', 'accountApi', 'assertSecureStoreKey', 'authRequestInit', 'biometricGate',
      'biometricLockPreference', 'classifySecureStoreError', 'clearSecureItemsOnReinstall', 'containsSecret', 'cookieDelivery', 'createBiometricGate',
      'createLockPreference', 'createNativeDpopKeyStore', 'createRawNonce', 'createSecureStoreStorage', 'createWebDpopKeyStore', 'emailApi', 'expoEnvironment', 'expoSessionOptions', 'guardStatus', 'insecureLocalStorage', 'isLatchkeyExpoError',
      'migrateFromAsyncStorage', 'nativeBiometricMode', 'nativeDpopKeyStore', 'postIdToken', 'registerQueryClient', 'resolveBiometricMode', 'runAsyncStorageMigration', 'secureStoreStorage', 'sha256Hex',
      'signInWithApple', 'signInWithIdProvider', 'useAuthFetch',
      'useQueryClientCleanup', 'useSession', 'useSessionClient', 'useSessionGuard', 'webSessionOptions', 'webStorage',
      'wireAppState', 'wireNetInfo', 'withReinstallCheck',
    ])
  })

  it('native (iOS): the session goes to expo-secure-store, stale Keychain items are cleared on first launch', async () => {
    native.os = 'ios'
    await secureStore().module.setItemAsync('latchkey.session', 'lk1={"stale":true}')
    const client = createSessionClient({ ...lk.expoSessionOptions({ tokenEndpoint: 'https://api.example/oauth/token' }), logger: silentLogger })
    await client.start()
    expect(client.getState().status).toBe('signedOut')
    expect(client.getState().reason).toBeUndefined() // not storage_corrupt: the stale item is gone
    expect(asyncStorage().data.get('latchkey.installed')).toBe('1')
    await client.signIn({ access_token: 'at', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt' })
    expect(secureStore().item('latchkey.session')?.keychainAccessible).toBe(6)
    client.stop()
  })

  it('native (iOS) with dpop: true: the device key goes to expo-secure-store beside the session, and leaves with it', async () => {
    native.os = 'ios'
    const options = lk.expoSessionOptions({ tokenEndpoint: 'https://api.example/oauth/token', dpop: true, randomBytes: (n) => new Uint8Array(randomBytes(n)) })
    const store = options.dpop as import('@latchkey/core').DpopKeyStore
    await store.save(await store.generate())
    expect(secureStore().item('latchkey.session.dpop')?.keychainAccessible).toBe(6)
    await store.delete()
    expect(secureStore().item('latchkey.session.dpop')).toBeUndefined()
  })

  it('native with a biometric lock: the device key needs no second OS prompt (the tokens it binds are behind the lock)', async () => {
    native.os = 'ios'
    const options = lk.expoSessionOptions({ tokenEndpoint: 'https://api.example/oauth/token', dpop: true, startLocked: true, randomBytes: (n) => new Uint8Array(randomBytes(n)) })
    const store = options.dpop as import('@latchkey/core').DpopKeyStore
    await store.save(await store.generate())
    expect(secureStore().item('latchkey.session.dpop')?.requireAuthentication).toBe(false)
    expect(await store.load()).not.toBeNull()
    await store.delete()
  })

  it("web: cookie mode, persisting nothing secret", () => {
    native.os = 'web'
    const options = lk.expoSessionOptions({ tokenEndpoint: '/oauth/token' })
    expect(options.persistTokens).toBe('none')
    expect(options.lock).toBeDefined()
    expect(options.sync).toBeDefined()
    expect(lk.authRequestInit({ method: 'POST' }).credentials).toBe('include')
    native.os = 'ios'
    expect(lk.authRequestInit({ method: 'POST' })).toEqual({ method: 'POST' })
  })

  it('finding 9: expoSessionOptions passes the RFC 8707 resource to every refresh, native and web', async () => {
    const bodies: string[] = []
    vi.stubGlobal('fetch', async (_url: string, init: RequestInit) => {
      bodies.push(String(init.body))
      return Response.json({ access_token: 'at', token_type: 'Bearer', expires_in: 600 })
    })
    try {
      const signal = new AbortController().signal
      for (const os of ['ios', 'android', 'web']) {
        native.os = os
        await lk.expoSessionOptions({ tokenEndpoint: 'https://auth.example/oauth/token', resource: 'https://orders.example.com' }).refresh('rt', { signal })
      }
      await lk.expoSessionOptions({ tokenEndpoint: 'https://auth.example/oauth/token' }).refresh('rt', { signal })
    } finally {
      native.os = 'ios'
      vi.unstubAllGlobals()
    }
    expect(bodies.map((b) => new URLSearchParams(b).get('resource'))).toEqual(['https://orders.example.com', 'https://orders.example.com', 'https://orders.example.com', null])
    expect(() => lk.expoSessionOptions({ tokenEndpoint: 'https://auth.example/oauth/token', resource: '/orders' })).toThrow(TypeError)
  })

  it('migrateFromAsyncStorage and biometricGate default to the native modules', async () => {
    const result = await lk.migrateFromAsyncStorage({ version: 1, keys: { 'legacy.token': 'legacy.secure' } })
    expect(result.status).toBe('migrated')
    expect(asyncStorage().data.has('legacy.token')).toBe(false)
    expect(await lk.secureStoreStorage().getItem('legacy.secure')).toBe('plaintext-token')

    const client = createSessionClient({ refresh: async () => ({ access_token: 'x' }), startLocked: true, logger: silentLogger })
    await client.start()
    const gate = lk.biometricGate({ client })
    expect(await gate.unlock()).toEqual({ result: 'success' })
    client.stop()
  })
})
