import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../env/ambient.js'
import { createForegroundManager, createOnlineManager } from '../env/manager.js'
import { createSessionClient } from '../session/client.js'
import { memoryStorage } from '../storage/memory.js'
import { createFakeTime } from '../test-support/fake-time.js'
import { startStallingServer } from '../test-support/stalling-server.js'
import { DEFAULT_REQUEST_TIMEOUT_MS } from './http.js'
import { oauth2Refresh } from './oauth2.js'

describe('every network step of a refresh has a deadline, body included', () => {
  let server: Awaited<ReturnType<typeof startStallingServer>> | undefined
  afterEach(async () => server?.close())

  it('a token answer whose body stalls after its headers fails in time, frees the lock, and the next refresh is sent', async () => {
    let stall = true
    let issued = 0
    server = await startStallingServer((path) => {
      if (path !== '/oauth/token' || stall) return null
      issued++
      return { status: 200, body: { access_token: `a${issued}`, token_type: 'Bearer', expires_in: 600, refresh_token: `r${issued}` } }
    })
    const time = createFakeTime()
    const online = createOnlineManager({ web: false })
    const client = createSessionClient({
      storage: memoryStorage(),
      refresh: oauth2Refresh({ tokenEndpoint: `${server.origin}/oauth/token`, timers: time.timers }),
      clock: time.clock,
      timers: time.timers,
      random: () => 0.5,
      logger: silentLogger,
      foreground: createForegroundManager({ web: false }),
      online,
    })
    await client.signIn({ access_token: 'a0', token_type: 'Bearer', expires_in: 0, refresh_token: 'r0' })

    const first = client.getAccessToken()
    await server.stalled(1)
    const firstOutcome = first.then(() => 'resolved', (e: { code?: string }) => e.code)
    await time.advance(DEFAULT_REQUEST_TIMEOUT_MS) // the exchange's deadline, and no further: no backoff retry fires
    expect(await firstOutcome).toBe('LK_TIMEOUT')
    // The stalled exchange was abandoned, not left holding a socket (and the refresh lock).
    await server.allReleased()

    stall = false
    online.setOnline(false)
    online.setOnline(true) // connectivity returns: retry at once
    await expect(client.getAccessToken()).resolves.toBe('a1')
    expect(server.requests.filter((p) => p === '/oauth/token')).toHaveLength(2)
    expect(client.getState().status).toBe('signedIn')
  })

  it('oauth2Refresh alone: a stalled body rejects with LK_TIMEOUT at its own deadline', async () => {
    server = await startStallingServer(() => null)
    const time = createFakeTime()
    const refresh = oauth2Refresh({ tokenEndpoint: `${server.origin}/oauth/token`, timers: time.timers, timeoutMs: 5_000 })
    const pending = refresh('r0', { signal: new AbortController().signal })
    const settled = pending.then(() => 'resolved', (e: { code?: string }) => e.code)
    await server.stalled(1)
    await time.advance(4_999)
    expect(server.openStalls()).toBe(1)
    await time.advance(1)
    expect(await settled).toBe('LK_TIMEOUT')
    await server.allReleased()
  })

  it("oauth2Refresh alone: the caller's abort during a stalled body rejects at once", async () => {
    server = await startStallingServer(() => null)
    const controller = new AbortController()
    const pending = oauth2Refresh({ tokenEndpoint: `${server.origin}/oauth/token` })('r0', { signal: controller.signal })
    const settled = pending.then(() => 'resolved', (e: { code?: string }) => e.code)
    await server.stalled(1)
    controller.abort()
    expect(await settled).toBe('LK_NETWORK')
    await server.allReleased()
  })
})
