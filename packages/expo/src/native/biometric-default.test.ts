// Finding 14 (OWASP MASVS-AUTH-2, MASVS-STORAGE-1): the presets default to the OS-enforced lock.
import { createSessionClient, silentLogger } from '@latchkey/core'
import { describe, expect, it, vi } from 'vitest'
import type { FakeSecureStore } from '../test-support/fake-secure-store.js'

const native = vi.hoisted(() => ({ os: 'ios', store: null as unknown as FakeSecureStore }))
vi.mock('expo-secure-store', async () => {
  native.store = (await import('../test-support/fake-secure-store.js')).createFakeSecureStore()
  return native.store.module
})
vi.mock('expo-local-authentication', async () => (await import('../test-support/fake-local-authentication.js')).createFakeLocalAuthentication().module)
vi.mock('@react-native-async-storage/async-storage', async () => ({ default: (await import('../test-support/fake-async-storage.js')).createFakeAsyncStorage().storage }))
vi.mock('@react-native-community/netinfo', async () => ({ default: (await import('../test-support/fake-rn.js')).fakeNetInfo() }))
vi.mock('react-native', async () => {
  const { fakeAppState } = await import('../test-support/fake-rn.js')
  return { AppState: fakeAppState('active'), Platform: { get OS() { return native.os } } }
})
const { expoSessionOptions, biometricGate, nativeBiometricMode } = await import('../index.js')

const tokens = { access_token: 'a1', token_type: 'Bearer', expires_in: 600, refresh_token: 'r1' }

describe('expoSessionOptions + biometricGate defaults', () => {
  it('startLocked on a device with biometrics: the session is written with requireAuthentication and the gate is OS-enforced', async () => {
    native.os = 'android'
    const options = expoSessionOptions({ tokenEndpoint: 'https://api.test/oauth/token', startLocked: true })
    const client = createSessionClient({ ...options, logger: silentLogger })
    await client.signIn(tokens)
    const pieces = native.store.keys().filter((k) => k.includes('.lk-c.'))
    expect(pieces.length).toBeGreaterThan(0)
    for (const k of pieces) expect(native.store.item(k)?.requireAuthentication).toBe(true)
    expect(nativeBiometricMode()).toEqual({ using: 'secureStore' })
    expect(biometricGate({ client }).mode).toEqual({ using: 'secureStore' })
    client.stop()
  })

  it('an explicit requireAuthentication: false (the event-based mode) is respected', async () => {
    native.os = 'android'
    const options = expoSessionOptions({ tokenEndpoint: 'https://api.test/oauth/token', startLocked: true, storageKey: 'other', secureStore: { requireAuthentication: false } })
    const client = createSessionClient({ ...options, logger: silentLogger })
    await client.signIn(tokens)
    expect(native.store.item('other')?.requireAuthentication).toBe(false)
    expect(native.store.keys().filter((k) => k.startsWith('other.lk-c.'))).toEqual([])
    expect(biometricGate({ client, using: 'localAuthentication' }).mode).toEqual({ using: 'localAuthentication', reason: 'explicit' })
    client.stop()
  })

  it('web: the event-based mode, and says so', () => {
    native.os = 'web'
    expect(nativeBiometricMode()).toEqual({ using: 'localAuthentication', reason: 'web' })
  })
})
