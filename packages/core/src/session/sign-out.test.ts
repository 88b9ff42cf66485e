import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../env/ambient.js'
import { createForegroundManager, createOnlineManager } from '../env/manager.js'
import { oauth2Refresh, oauth2Revoke } from '../oauth/oauth2.js'
import { createSessionClient } from '../session/client.js'
import { memoryStorage } from '../storage/memory.js'
import type { SessionStorage } from '../storage/types.js'
import { startTokenServer, type TokenServer } from '../test-support/token-server.js'

describe('guarantee 7: sign-out is local first, never throws for the network, revokes later', () => {
  let server: TokenServer
  beforeEach(async () => {
    server = await startTokenServer()
  })
  afterEach(async () => {
    await server.close()
  })

  const makeClient = (storage: SessionStorage, online = createOnlineManager({ web: false })) =>
    createSessionClient({
      storage,
      refresh: oauth2Refresh({ tokenEndpoint: server.tokenEndpoint }),
      revoke: oauth2Revoke({ revocationEndpoint: server.revocationEndpoint, timeoutMs: 2_000 }),
      logger: silentLogger,
      foreground: createForegroundManager({ web: false }),
      online,
    })

  /** Polls until `check` holds; bounded by the test's timeout, not by a count of ticks (finding 17). */
  const waitFor = async (check: () => boolean) => {
    while (!check()) await new Promise((r) => setTimeout(r, 10))
  }

  it('with the network down: clears memory and storage, runs every cleanup, emits, resolves; revokes when back', async () => {
    const storage = memoryStorage()
    const online = createOnlineManager({ web: false })
    const client = makeClient(storage, online)
    await client.signIn(server.initial(600))
    server.state.revokeDown = true

    const order: string[] = []
    client.onSignOut(() => void order.push('cleanup-1'))
    client.onSignOut(() => {
      order.push('cleanup-throws')
      throw new Error('cache exploded')
    })
    client.onSignOut(async () => {
      expect(await storage.getItem('latchkey.session')).toBeNull() // storage already cleared
      order.push('cleanup-async')
    })
    const unregistered = vi.fn()
    client.onSignOut(unregistered)()
    client.on('signedOut', (e) => order.push(`signedOut:${e.reason}`))

    await expect(client.signOut()).resolves.toBeUndefined()
    expect(order).toEqual(['cleanup-1', 'cleanup-throws', 'cleanup-async', 'signedOut:user'])
    expect(unregistered).not.toHaveBeenCalled()
    expect(client.getState()).toMatchObject({ status: 'signedOut', reason: 'user', claims: null })
    expect(await client.getAccessToken()).toBeNull()
    expect(await storage.getItem('latchkey.session')).toBeNull()

    // The revocation could not be sent; it is kept in its own record.
    await client.flushRevocations()
    expect(server.state.revoked).toEqual([])
    expect(await storage.getItem('latchkey.session.revocations')).toContain('r0')

    // The network returns.
    server.state.revokeDown = false
    online.setOnline(false)
    online.setOnline(true)
    await waitFor(() => server.state.revoked.length === 1)
    expect(server.state.revoked).toEqual(['r0'])
    await client.flushRevocations()
    expect(await storage.getItem('latchkey.session.revocations')).toBeNull()
    client.stop()
  })

  it('a pending revocation survives a restart and is sent by the next start()', async () => {
    const storage = memoryStorage()
    const offline = createOnlineManager({ web: false })
    offline.setOnline(false)
    const first = makeClient(storage, offline)
    await first.signIn(server.initial(600))
    await first.signOut()
    first.stop()
    expect(server.state.revoked).toEqual([])

    const second = makeClient(storage)
    await second.start()
    await waitFor(() => server.state.revoked.length === 1)
    expect(server.state.revoked).toEqual(['r0'])
    second.stop()
  })

  it('signOut while already signed out resolves without emitting again', async () => {
    const client = makeClient(memoryStorage())
    const events = vi.fn()
    client.on('signedOut', events)
    await client.start()
    await client.signOut()
    expect(events).not.toHaveBeenCalled()
  })

  it('a refresh in flight when the user signs out cannot bring the session back', async () => {
    const storage = memoryStorage()
    const client = makeClient(storage)
    await client.signIn(server.initial(0))
    const release = server.holdRefreshes()
    const pending = client.getAccessToken()
    await waitFor(() => server.state.refreshRequests === 1) // the refresh reached the server, which holds its answer
    const signedOut = client.signOut()
    release()
    await signedOut
    await expect(pending).rejects.toMatchObject({ code: 'LK_SIGNED_OUT' })
    expect(client.getState().status).toBe('signedOut')
    expect(await storage.getItem('latchkey.session')).toBeNull()
    // The orphaned pair from that refresh is revoked too.
    await waitFor(() => server.state.revoked.includes('r1'))
    client.stop()
  })
})
