import { describe, expect, it, vi } from 'vitest'
import { memoryStorage } from '../storage/memory.js'
import type { SessionStorage } from '../storage/types.js'
import { makeClient, pair } from '../test-support/client.js'

const spied = (inner: SessionStorage) => ({
  getItem: vi.fn((k: string) => inner.getItem(k)),
  setItem: vi.fn((k: string, v: string) => inner.setItem(k, v)),
  removeItem: vi.fn((k: string) => inner.removeItem(k)),
})

describe('biometric gate support: startLocked, lock(), unlock()', () => {
  it('startLocked: start() reads nothing from storage; unlock() restores', async () => {
    const inner = memoryStorage()
    await makeClient({ storage: inner }).client.signIn(pair(1))
    const storage = spied(inner)
    const { client } = makeClient({ storage, startLocked: true, tokenOrigins: ['https://api.example'] })
    await client.start()
    expect(client.getState()).toMatchObject({ status: 'locked', ready: true })
    expect(storage.getItem).not.toHaveBeenCalled()
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'LK_LOCKED' })
    await expect(client.fetch('https://api.example/x')).rejects.toMatchObject({ code: 'LK_LOCKED' })
    expect(storage.getItem).not.toHaveBeenCalled()
    await client.unlock()
    expect(client.getState().status).toBe('signedIn')
    expect(await client.getAccessToken()).toBe('access-1')
  })

  it('lock() drops tokens from memory without touching storage', async () => {
    const storage = spied(memoryStorage())
    const { client, time, refresh } = makeClient({ storage })
    await client.signIn(pair(1))
    storage.getItem.mockClear()
    storage.setItem.mockClear()
    client.lock()
    expect(client.getState()).toMatchObject({ status: 'locked', claims: null })
    expect(client.tokenSource.peek()).toBeNull()
    await time.advance(600_000) // no proactive refresh while locked
    expect(refresh).not.toHaveBeenCalled()
    expect(storage.getItem).not.toHaveBeenCalled()
    expect(storage.setItem).not.toHaveBeenCalled()
    expect(storage.removeItem).not.toHaveBeenCalled()
  })

  it('a transient read failure during unlock stays locked and reports the error', async () => {
    const inner = memoryStorage()
    await makeClient({ storage: inner }).client.signIn(pair(1))
    const storage = spied(inner)
    const { client } = makeClient({ storage, startLocked: true })
    await client.start()
    storage.getItem.mockRejectedValueOnce(new Error('user cancelled'))
    await client.unlock()
    expect(client.getState()).toMatchObject({ status: 'locked', error: { code: 'LK_STORAGE' } })
    await client.unlock()
    expect(client.getState().status).toBe('signedIn')
  })

  it('an invalidated key on unlock signs out with reason credential_invalidated', async () => {
    const inner = memoryStorage()
    await makeClient({ storage: inner }).client.signIn(pair(1))
    const storage = spied(inner)
    const { client } = makeClient({ storage, startLocked: true })
    await client.start()
    storage.getItem.mockRejectedValueOnce(Object.assign(new Error('invalidated'), { code: 'LK_CREDENTIAL_INVALIDATED' }))
    await client.unlock()
    expect(client.getState()).toMatchObject({ status: 'signedOut', reason: 'credential_invalidated' })
  })
})
