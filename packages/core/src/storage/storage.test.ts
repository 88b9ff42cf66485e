import { describe, expect, it } from 'vitest'
import { describeStorageContract } from '../testing.js'
import { memoryStorage } from './memory.js'
import { decodeRecord } from './record.js'
import type { SessionStorage } from './types.js'
import { makeClient, pair } from '../test-support/client.js'

describeStorageContract('memoryStorage', () => memoryStorage())

/** Wraps a storage so individual operations can be made to fail. */
function flaky(inner: SessionStorage) {
  const fail = { get: null as unknown, set: null as unknown, remove: null as unknown }
  const storage: SessionStorage = {
    getItem: async (k) => {
      if (fail.get) throw fail.get
      return inner.getItem(k)
    },
    setItem: async (k, v) => {
      if (fail.set) throw fail.set
      return inner.setItem(k, v)
    },
    removeItem: async (k) => {
      if (fail.remove) throw fail.remove
      return inner.removeItem(k)
    },
  }
  return { storage, fail }
}

describe('storage: one record per session', () => {
  it('persists access token, refresh token and metadata as one versioned record', async () => {
    const { client, storage } = makeClient()
    await client.signIn(pair(1))
    const record = decodeRecord((await storage.getItem('latchkey.session'))!)
    expect(record).toMatchObject({ v: 1, accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 600, tokenType: 'Bearer' })
  })

  it("with persistTokens 'none' keeps no secret at rest", async () => {
    const { client, storage } = makeClient({ persistTokens: 'none' })
    await client.signIn(pair(1))
    const raw = (await storage.getItem('latchkey.session'))!
    expect(raw).not.toContain('access-1')
    expect(raw).not.toContain('refresh-1')
    expect(await client.getAccessToken()).toBe('access-1')
  })

  it('honours a custom storageKey', async () => {
    const { client, storage } = makeClient({ storageKey: 'app.auth' })
    await client.signIn(pair(1))
    expect(await storage.getItem('app.auth')).not.toBeNull()
    expect(await storage.getItem('latchkey.session')).toBeNull()
  })
})

describe('storage: failures', () => {
  it('a failed write during signIn rejects with LK_STORAGE and leaves the client signed out', async () => {
    const { storage, fail } = flaky(memoryStorage())
    const { client } = makeClient({ storage })
    await client.start()
    fail.set = new Error('disk full')
    await expect(client.signIn(pair(1))).rejects.toMatchObject({ code: 'LK_STORAGE', operation: 'setItem' })
    expect(client.getState().status).toBe('signedOut')
    expect(await client.getAccessToken()).toBeNull()
  })

  it('a failed write after a refresh keeps memory at the persisted pair', async () => {
    const inner = memoryStorage()
    const { storage, fail } = flaky(inner)
    const { client, time, refresh, foreground } = makeClient({ storage })
    await client.signIn(pair(1, 600))
    foreground.setForeground(false) // no proactive refresh: the need below drives it
    await time.advance(601_000)
    fail.set = new Error('disk full')
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'LK_STORAGE', operation: 'setItem' })
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(client.getState()).toMatchObject({ status: 'signedIn', error: { code: 'LK_STORAGE' } })
    // Memory did not advance past storage: both still hold pair 1.
    expect(decodeRecord((await inner.getItem('latchkey.session'))!).accessToken).toBe('access-1')
    expect(client.tokenSource.peek()?.accessToken).toBe('access-1')
    // Once storage works again, the next need saves the pair the server issued (held aside, not
    // used) and both advance together, without another refresh.
    fail.set = null
    expect(await client.getAccessToken()).toBe('access-101')
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(decodeRecord((await inner.getItem('latchkey.session'))!).accessToken).toBe('access-101')
  })

  it('after a failed write the spent refresh token is never sent again; the held pair\'s token is', async () => {
    const inner = memoryStorage()
    const { storage, fail } = flaky(inner)
    const { client, time, refresh, foreground } = makeClient({ storage })
    await client.signIn(pair(1, 600))
    foreground.setForeground(false)
    await time.advance(601_000)
    fail.set = new Error('disk full')
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'LK_STORAGE' })
    // Still failing: the held pair stays held, nothing is spent twice.
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'LK_STORAGE' })
    expect(refresh.mock.calls.map((c) => c[0])).toEqual(['refresh-1'])
    // Storage works again, but the held pair has expired meanwhile: its refresh token is spent.
    fail.set = null
    await time.advance(601_000)
    expect(await client.getAccessToken()).toBe('access-102')
    expect(refresh.mock.calls.map((c) => c[0])).toEqual(['refresh-1', 'refresh-101'])
    expect(decodeRecord((await inner.getItem('latchkey.session'))!).refreshToken).toBe('refresh-102')
    expect(client.getState().status).toBe('signedIn')
  })

  it('signing out while a pair is held revokes the held refresh token too', async () => {
    const inner = memoryStorage()
    const { storage, fail } = flaky(inner)
    const revoked: Array<string | null> = []
    const { client, time, foreground } = makeClient({ storage, revoke: async (token) => void revoked.push(token) })
    await client.signIn(pair(1, 600))
    foreground.setForeground(false)
    await time.advance(601_000)
    fail.set = new Error('disk full')
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'LK_STORAGE' })
    fail.set = null
    await client.signOut()
    await client.flushRevocations()
    expect(revoked.sort()).toEqual(['refresh-1', 'refresh-101'])
  })

  it('corrupt data at start is a typed error and a sign-out, and the bad record is removed', async () => {
    const storage = memoryStorage({ 'latchkey.session': 'not json' })
    const { client } = makeClient({ storage })
    const signedOut: string[] = []
    client.on('signedOut', (e) => signedOut.push(e.reason))
    await client.start()
    expect(client.getState()).toMatchObject({ status: 'signedOut', reason: 'storage_corrupt', error: { code: 'LK_STORAGE_CORRUPT' } })
    expect(signedOut).toEqual(['storage_corrupt'])
    expect(await storage.getItem('latchkey.session')).toBeNull()
  })

  it.each([
    ['wrong version', JSON.stringify({ v: 99, id: 'x', tokenType: 'Bearer', expiresIn: 1, receivedAt: 1 })],
    ['mistyped field', JSON.stringify({ v: 1, id: 'x', tokenType: 'Bearer', accessToken: 5, expiresIn: 1, receivedAt: 1 })],
    ['not an object', '"hello"'],
  ])('corrupt record (%s) is rejected by the codec', (_label, raw) => {
    expect(() => decodeRecord(raw)).toThrowError(expect.objectContaining({ code: 'LK_STORAGE_CORRUPT' }))
  })

  it('a transient read failure at start keeps the stored session and retries on the next need', async () => {
    const inner = memoryStorage()
    const { storage, fail } = flaky(inner)
    const first = makeClient({ storage: inner })
    await first.client.signIn(pair(1))
    const { client } = makeClient({ storage })
    fail.get = new Error('keychain busy')
    await client.start()
    expect(client.getState()).toMatchObject({ status: 'signedOut', ready: false, error: { code: 'LK_STORAGE' } })
    expect(client.getState().reason).toBeUndefined()
    expect(await inner.getItem('latchkey.session')).not.toBeNull()
    fail.get = null
    expect(await client.getAccessToken()).toBe('access-1')
    expect(client.getState()).toMatchObject({ status: 'signedIn', ready: true })
  })

  it("an adapter error with code 'LK_CREDENTIAL_INVALIDATED' signs out with reason credential_invalidated", async () => {
    const inner = memoryStorage()
    const { storage, fail } = flaky(inner)
    await makeClient({ storage: inner }).client.signIn(pair(1))
    const { client } = makeClient({ storage })
    fail.get = Object.assign(new Error('key permanently invalidated'), { code: 'LK_CREDENTIAL_INVALIDATED' })
    await client.start()
    expect(client.getState()).toMatchObject({ status: 'signedOut', reason: 'credential_invalidated', error: { code: 'LK_CREDENTIAL_INVALIDATED' } })
  })

  it('a failing removeItem during sign-out does not stop the sign-out', async () => {
    const { storage, fail } = flaky(memoryStorage())
    const { client } = makeClient({ storage })
    await client.signIn(pair(1))
    fail.remove = new Error('io')
    await expect(client.signOut()).resolves.toBeUndefined()
    expect(client.getState().status).toBe('signedOut')
    expect(await client.getAccessToken()).toBeNull()
  })
})
