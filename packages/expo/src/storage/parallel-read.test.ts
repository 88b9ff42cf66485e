import { describe, expect, it } from 'vitest'
import { createFakeSecureStore } from '../test-support/fake-secure-store.js'
import { createRoundTripGate } from '../test-support/round-trips.js'
import type { SecureStoreModule } from './types.js'
import { createSecureStoreStorage } from './secure-store-storage.js'

// A large session (an access token with many claims): about 8.4 KB, five 2048-byte pieces.
const LARGE = JSON.stringify({ v: 1, access_token: `h.${'c'.repeat(8300)}.s`, refresh_token: 'r'.repeat(64) })

async function stored(extra: { requireAuthentication?: boolean } = {}) {
  const gate = createRoundTripGate()
  const fake = createFakeSecureStore({ maxValueBytes: 2048, latency: 1, delay: gate.delay })
  const storage = createSecureStoreStorage({ secureStore: fake.module, ...extra })
  await gate.run(storage.setItem('session', LARGE))
  fake.clearCalls()
  const pieces = fake.keys().filter((k) => k.startsWith('session.lk-c.'))
  return { gate, fake, storage, pieces }
}

const rejection = (outcome: PromiseSettledResult<unknown>) => (outcome.status === 'rejected' ? outcome.reason : outcome)

describe('a large value is read in at most two round trips', () => {
  it('the commit record, then every piece at once: 2 sequential round trips for 6 native calls', async () => {
    const { gate, fake, storage, pieces } = await stored()
    expect(pieces).toHaveLength(5)
    const { outcome, roundTrips, maxInFlight } = await gate.run(storage.getItem('session'))
    expect(outcome).toEqual({ status: 'fulfilled', value: LARGE })
    expect(fake.calls.map((c) => c.op)).toEqual(['get', 'get', 'get', 'get', 'get', 'get'])
    expect(roundTrips).toBe(2)
    expect(maxInFlight).toBe(5)
  })

  it('a small value is still one native call', async () => {
    const { gate, fake, storage } = await stored()
    await gate.run(storage.setItem('small', 'tiny'))
    fake.clearCalls()
    const { outcome, roundTrips } = await gate.run(storage.getItem('small'))
    expect(outcome).toEqual({ status: 'fulfilled', value: 'tiny' })
    expect(roundTrips).toBe(1)
  })

  it('with requireAuthentication the pieces are read one at a time: one OS prompt at a time (Android refuses a second prompt while one is up)', async () => {
    const { gate, fake, storage, pieces } = await stored({ requireAuthentication: true })
    const { outcome, maxInFlight } = await gate.run(storage.getItem('session'))
    expect(outcome).toEqual({ status: 'fulfilled', value: LARGE })
    expect(maxInFlight).toBe(1)
    expect(fake.osPrompts).toBe(pieces.length)
  })
})

describe('every integrity check still holds when the pieces are read together', () => {
  it('a missing piece: LK_CREDENTIAL_INVALIDATED, nothing deleted', async () => {
    const { gate, fake, storage, pieces } = await stored()
    await gate.run(fake.module.deleteItemAsync(pieces[3]!))
    const before = fake.keys()
    const { outcome } = await gate.run(storage.getItem('session'))
    expect(rejection(outcome)).toMatchObject({ code: 'LK_CREDENTIAL_INVALIDATED' })
    expect(fake.keys()).toEqual(before)
  })

  it('a piece changed on disk (the hash no longer matches): LK_CREDENTIAL_INVALIDATED', async () => {
    const { gate, fake, storage, pieces } = await stored()
    const piece = fake.peek(pieces[2]!)!
    await gate.run(fake.module.setItemAsync(pieces[2]!, `${piece.slice(0, -1)}X`))
    const { outcome } = await gate.run(storage.getItem('session'))
    expect(rejection(outcome)).toMatchObject({ code: 'LK_CREDENTIAL_INVALIDATED' })
  })

  it('a piece the OS invalidated (ERR_DECRYPT, or null): LK_CREDENTIAL_INVALIDATED', async () => {
    for (const mode of ['throw', 'null'] as const) {
      const { gate, fake, storage, pieces } = await stored()
      fake.invalidate(pieces[4]!, { mode })
      const { outcome } = await gate.run(storage.getItem('session'))
      expect(rejection(outcome), mode).toMatchObject({ code: 'LK_CREDENTIAL_INVALIDATED' })
    }
  })

  it('one piece unreadable for now (device locked): LK_SECURE_STORE_UNAVAILABLE, and the next read succeeds', async () => {
    const { gate, fake, pieces } = await stored()
    let failing = true
    const flaky: SecureStoreModule = {
      ...fake.module,
      getItemAsync: (key, opts) =>
        failing && key === pieces[1] ? Promise.reject(Object.assign(new Error('User interaction is not allowed.'), { code: 'ERR_KEY_CHAIN' })) : fake.module.getItemAsync(key, opts),
    }
    const storage = createSecureStoreStorage({ secureStore: flaky })
    const { outcome } = await gate.run(storage.getItem('session'))
    expect(rejection(outcome)).toMatchObject({ code: 'LK_SECURE_STORE_UNAVAILABLE' })
    failing = false
    expect((await gate.run(storage.getItem('session'))).outcome).toEqual({ status: 'fulfilled', value: LARGE })
  })

  it('a write that commits a new generation while the old pieces are read: the read retries and returns the new value', async () => {
    const { gate, fake, storage } = await stored()
    const other = createSecureStoreStorage({ secureStore: { ...fake.module } }) // another JS context: its own queue
    const next = LARGE.replace('c', 'd')
    const read = storage.getItem('session')
    const write = other.setItem('session', next)
    const { outcome } = await gate.run(Promise.all([read, write]))
    expect(outcome.status).toBe('fulfilled')
    expect([LARGE, next]).toContain((outcome as PromiseFulfilledResult<[string | null, void]>).value[0])
    expect((await gate.run(storage.getItem('session'))).outcome).toEqual({ status: 'fulfilled', value: next })
  })
})
