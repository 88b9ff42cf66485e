import { createForegroundManager, createSessionClient, silentLogger, type SessionClient } from '@latchkey/core'
import { describe, expect, it } from 'vitest'
import { wireAppState } from '../env/wire.js'
import { fakeAppState } from '../test-support/fake-rn.js'
import { findSecureStoreError } from '../storage/errors.js'
import { createSecureStoreStorage } from '../storage/secure-store-storage.js'
import { createFakeLocalAuthentication } from '../test-support/fake-local-authentication.js'
import { createFakeSecureStore } from '../test-support/fake-secure-store.js'
import { createFakeTime } from '../test-support/fake-time.js'
import { createBiometricGate as biometricGate, type BiometricGateOptions } from './biometric-gate.js'

const tokens = { access_token: 'a1', token_type: 'Bearer', expires_in: 600, refresh_token: 'r1' }

type StorageOptions = { requireAuthentication?: boolean }

async function setup(
  gateOptions: Partial<BiometricGateOptions> = {},
  storageOptions: StorageOptions = {},
  device: { biometrics?: boolean; signedInWith?: StorageOptions } = {},
) {
  const fake = createFakeSecureStore({ maxValueBytes: 2048 })
  fake.setBiometricsAvailable(device.biometrics ?? true)
  const time = createFakeTime()
  const make = (startLocked: boolean, foreground = createForegroundManager({ web: false }), opts = storageOptions) =>
    createSessionClient({
      storage: createSecureStoreStorage({ secureStore: fake.module, ...opts }),
      refresh: async () => tokens, logger: silentLogger, clock: time.clock, timers: time.timers, startLocked, foreground,
    })
  const first = make(false, undefined, device.signedInWith ?? storageOptions)
  await first.signIn(tokens)
  first.stop()
  fake.clearCalls()
  const foreground = createForegroundManager({ web: false })
  const appState = fakeAppState('active')
  wireAppState(foreground, appState)
  const client: SessionClient = make(true, foreground)
  await client.start()
  const auth = createFakeLocalAuthentication()
  // 'localAuthentication' unless a test asks otherwise: the explicit event mode behaves as before.
  const gate = biometricGate({
    client, localAuthentication: auth.module, foreground, clock: time.clock, using: 'localAuthentication', secureStore: fake.module, ...gateOptions,
  })
  return { fake, time, client, auth, gate, appState }
}

const reads = (fake: ReturnType<typeof createFakeSecureStore>) => fake.calls.filter((c) => c.op === 'get').length

describe('biometricGate', () => {
  it('reads no storage before a successful unlock (fake secure store call log), then restores', async () => {
    const { fake, client, auth, gate } = await setup()
    expect(client.getState().status).toBe('locked')
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'LK_LOCKED' })
    auth.answer('user_cancel')
    expect(await gate.unlock()).toEqual({ result: 'cancelled' })
    expect(fake.calls).toEqual([])
    expect(await gate.unlock()).toEqual({ result: 'success' })
    expect(reads(fake)).toBeGreaterThan(0)
    expect(client.getState().status).toBe('signedIn')
    expect(await client.getAccessToken()).toBe('a1')
    expect(auth.prompts[0]).toMatchObject({ disableDeviceFallback: false })
  })

  it.each([
    ['user_cancel', 'cancelled'], ['system_cancel', 'cancelled'], ['app_cancel', 'cancelled'],
    ['lockout', 'lockout'], ['not_enrolled', 'not_enrolled'], ['passcode_not_set', 'not_enrolled'],
    ['not_available', 'not_available'], ['authentication_failed', 'failed'], ['unknown', 'failed'],
  ])('maps %s to %s and stays locked without reading', async (error, result) => {
    const { fake, client, auth, gate } = await setup()
    auth.answer(error)
    expect((await gate.unlock()).result).toBe(result)
    expect(client.getState().status).toBe('locked')
    expect(fake.calls).toEqual([])
  })

  it('concurrent unlocks share one prompt', async () => {
    const { auth, gate } = await setup()
    const results = await Promise.all([gate.unlock(), gate.unlock(), gate.unlock()])
    expect(results.map((r) => r.result)).toEqual(['success', 'success', 'success'])
    expect(auth.prompts).toHaveLength(1)
  })

  it('no biometrics enrolled: the policy decides (deny / allow / passcode)', async () => {
    for (const [policy, expected, prompts] of [['deny', 'not_enrolled', 0], ['allow', 'success', 0], ['passcode', 'success', 1]] as const) {
      const { auth, gate, client } = await setup({ policyWhenNotEnrolled: policy })
      auth.set({ enrolled: false })
      expect((await gate.unlock()).result).toBe(expected)
      expect(auth.prompts).toHaveLength(prompts)
      expect(client.getState().status).toBe(expected === 'success' ? 'signedIn' : 'locked')
    }
    const { auth, gate } = await setup({ policyWhenNotEnrolled: 'deny' })
    auth.set({ hardware: false })
    expect((await gate.unlock()).result).toBe('not_available')
  })

  it('re-locks after a background period of at least relockAfterMs, not after a shorter one', async () => {
    const { client, gate, appState, time } = await setup({ relockAfterMs: 30_000 })
    const stop = gate.start()
    await gate.unlock()
    appState.emit('background')
    await time.advance(10_000)
    appState.emit('active')
    expect(client.getState().status).toBe('signedIn')
    appState.emit('background')
    await time.advance(30_000)
    appState.emit('active')
    expect(client.getState()).toMatchObject({ status: 'locked', claims: null })
    stop()
  })

  it('relockAfterMs 0 locks as soon as the app goes to the background; inactive (the prompt) does not', async () => {
    const { client, gate, appState } = await setup({ relockAfterMs: 0 })
    gate.start()
    await gate.unlock()
    appState.emit('inactive')
    appState.emit('active')
    expect(client.getState().status).toBe('signedIn')
    appState.emit('background')
    expect(client.getState().status).toBe('locked')
  })

  it("using SecureStore's requireAuthentication: the OS prompt guards the read; a cancel is typed", async () => {
    const { fake, client, gate } = await setup({ using: 'secureStore', localAuthentication: undefined }, { requireAuthentication: true })
    fake.setAuthenticator(() => 'cancel')
    expect(await gate.unlock()).toEqual({ result: 'cancelled' })
    expect(client.getState().status).toBe('locked')
    fake.setAuthenticator(() => 'success')
    expect(await gate.unlock()).toEqual({ result: 'success' })
    expect(await client.getAccessToken()).toBe('a1')
  })

  it('biometrics changed (key invalidated): unlock signs out with reason credential_invalidated', async () => {
    const { fake, client, gate } = await setup({}, { requireAuthentication: true })
    fake.invalidateAuthenticated({ mode: 'null' })
    expect(await gate.unlock()).toEqual({ result: 'failed', reason: 'credential_invalidated' })
    expect(client.getState()).toMatchObject({ status: 'signedOut', reason: 'credential_invalidated' })
  })
})

// Finding 14 (OWASP MASVS-AUTH-2, MASVS-STORAGE-1): the default lock is the OS's, not an event.
describe('biometricGate default mode (OS-enforced where available)', () => {
  it('default: a hooked authenticateAsync that answers success without a prompt does not yield the tokens', async () => {
    // As expoSessionOptions({ startLocked: true }) makes it where canUseBiometricAuthentication() is true.
    const { fake, client, auth, gate } = await setup({ using: undefined }, { requireAuthentication: true })
    expect(gate.mode).toEqual({ using: 'secureStore' })
    auth.answer('success', 'success', 'success') // hooked: success, no prompt shown
    fake.setAuthenticator(() => 'cancel') // the real OS prompt: the user is not there to pass it
    expect(await gate.unlock()).toEqual({ result: 'cancelled' })
    expect(client.getState()).toMatchObject({ status: 'locked', claims: null })
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'LK_LOCKED' })
    // Skipping the gate altogether (a patched app calling client.unlock()) gets no further.
    await client.unlock()
    expect(client.getState().status).toBe('locked')
    expect(auth.prompts).toHaveLength(0)
    expect(fake.osPrompts).toBeGreaterThan(0)
    // The user passes the OS prompt: unlocked.
    fake.setAuthenticator(() => 'success')
    expect(await gate.unlock()).toEqual({ result: 'success' })
    expect(await client.getAccessToken()).toBe('a1')
  })

  it('default: every stored piece of the session was written with requireAuthentication', async () => {
    const { fake } = await setup({ using: undefined }, { requireAuthentication: true })
    const pieces = fake.keys().filter((k) => k.includes('.lk-c.'))
    expect(pieces.length).toBeGreaterThan(0)
    for (const k of pieces) expect(fake.item(k)?.requireAuthentication).toBe(true)
  })

  it('default falls back to the event-based mode where canUseBiometricAuthentication() is false, and says why', async () => {
    const { gate, auth, client } = await setup({ using: undefined }, {}, { biometrics: false })
    expect(gate.mode).toEqual({ using: 'localAuthentication', reason: 'biometrics_unavailable' })
    expect(await gate.unlock()).toEqual({ result: 'success' })
    expect(auth.prompts).toHaveLength(1)
    expect(client.getState().status).toBe('signedIn')
    const web = await setup({ using: undefined, platform: 'web', secureStore: undefined })
    expect(web.gate.mode).toEqual({ using: 'localAuthentication', reason: 'web' })
  })

  it("explicit using: 'localAuthentication' says so in its mode and prompts through expo-local-authentication", async () => {
    const { gate, auth } = await setup({ using: 'localAuthentication' })
    expect(gate.mode).toEqual({ using: 'localAuthentication', reason: 'explicit' })
    expect((await gate.unlock()).result).toBe('success')
    expect(auth.prompts).toHaveLength(1)
  })

  it('a session written without requireAuthentication is not accepted by the OS-enforced storage (biometrics enrolled later)', async () => {
    const { fake, client, auth, gate } = await setup({ using: undefined }, { requireAuthentication: true }, { signedInWith: {} })
    expect(await gate.unlock()).toEqual({ result: 'failed', reason: 'credential_invalidated' })
    expect(client.getState()).toMatchObject({ status: 'signedOut', reason: 'credential_invalidated' })
    expect(auth.prompts).toHaveLength(0)
    expect(fake.osPrompts).toBe(0)
  })

  it('the gate types a failed read by its error code: a cancelled OS prompt is cancelled, a locked device is failed (not matched by words)', async () => {
    const { fake, client, gate } = await setup({ using: undefined }, { requireAuthentication: true })
    fake.setAuthenticator(() => 'cancel')
    expect(await gate.unlock()).toEqual({ result: 'cancelled' })
    fake.setAuthenticator(null)
    fake.setDeviceLocked(true)
    const failed = await gate.unlock()
    expect(failed.result).toBe('failed')
    expect(findSecureStoreError((failed as { error?: unknown }).error)?.code).toBe('LK_SECURE_STORE_UNAVAILABLE')
    expect(client.getState().status).toBe('locked')
    fake.setDeviceLocked(false)
    expect(await gate.unlock()).toEqual({ result: 'success' })
  })
})
