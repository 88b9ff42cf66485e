import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../env/ambient.js'
import { createForegroundManager, createOnlineManager } from '../env/manager.js'
import { oauth2Refresh } from '../oauth/oauth2.js'
import { createSessionClient } from '../session/client.js'
import type { SessionClientOptions } from '../session/options.js'
import { memoryStorage } from '../storage/memory.js'
import { createFakeTime } from '../test-support/fake-time.js'
import { startTokenServer, type TokenServer } from '../test-support/token-server.js'

describe('after a refresh failed for network reasons, new needs share one planned retry', () => {
  let server: TokenServer
  beforeEach(async () => {
    server = await startTokenServer()
  })
  afterEach(async () => server.close())

  const setup = async (overrides: Partial<SessionClientOptions> = {}) => {
    const time = createFakeTime()
    const online = createOnlineManager({ web: false })
    const foreground = createForegroundManager({ web: false })
    const client = createSessionClient({
      refresh: oauth2Refresh({ tokenEndpoint: server.tokenEndpoint, timers: time.timers }),
      clock: time.clock, timers: time.timers, random: () => 0.5, logger: silentLogger, online, foreground,
      ...overrides,
    })
    await client.signIn(server.initial(0)) // expired: every need refreshes
    return { client, time, online, foreground }
  }
  const burst = (n: number, get: () => Promise<unknown>) => Promise.allSettled(Array.from({ length: n }, get))
  const codes = (results: PromiseSettledResult<unknown>[]) => new Set(results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok')))

  it('a burst while a distant retry is planned fails at once with the last error, sending nothing', async () => {
    const { client, time } = await setup({ backoff: { baseMs: 30_000 } })
    server.state.mode = 'server_error'
    expect(codes(await burst(1000, () => client.getAccessToken()))).toEqual(new Set(['LK_NETWORK']))
    expect(server.state.refreshRequests).toBe(1)
    // A long outage: three more bursts, still no request of their own.
    for (let i = 0; i < 3; i++) expect(codes(await burst(1000, () => client.getAccessToken()))).toEqual(new Set(['LK_NETWORK']))
    expect(server.state.refreshRequests).toBe(1)
    expect(client.getState()).toMatchObject({ status: 'offline', error: { code: 'LK_NETWORK' } })
    // The planned retry (22.5 s: half fixed, half jitter at 0.5) runs, and succeeds.
    server.state.mode = 'ok'
    await time.advance(22_500)
    await expect(client.getAccessToken()).resolves.toBe('a1')
    expect(server.state.refreshRequests).toBe(2)
  })

  it('a burst while a retry is due within moments waits for it and shares it', async () => {
    const { client, time } = await setup()
    server.state.mode = 'server_error'
    await burst(100, () => client.getAccessToken())
    expect(server.state.refreshRequests).toBe(1)
    server.state.mode = 'ok'
    const waiting = burst(1000, () => client.getAccessToken())
    await time.advance(750) // the first retry (1 s ceiling, half jitter at 0.5)
    const results = await waiting
    expect(results.every((r) => r.status === 'fulfilled' && r.value === 'a1')).toBe(true)
    expect(server.state.refreshRequests).toBe(2)
  })

  it('connectivity returning retries at once, however far the planned retry', async () => {
    const { client, online } = await setup({ backoff: { baseMs: 30_000 } })
    server.state.mode = 'server_error'
    await burst(10, () => client.getAccessToken())
    online.setOnline(false)
    server.state.mode = 'ok'
    const refreshed = new Promise((resolve) => client.on('refreshed', resolve))
    online.setOnline(true)
    await refreshed
    expect(server.state.refreshRequests).toBe(2)
    expect(client.getState().status).toBe('signedIn')
  })

  it('the foreground returning retries at once, however far the planned retry', async () => {
    const { client, foreground } = await setup({ backoff: { baseMs: 30_000 } })
    server.state.mode = 'server_error'
    await burst(10, () => client.getAccessToken())
    foreground.setForeground(false)
    server.state.mode = 'ok'
    const refreshed = new Promise((resolve) => client.on('refreshed', resolve))
    foreground.setForeground(true)
    await refreshed
    expect(server.state.refreshRequests).toBe(2)
  })
})

describe('getAccessToken never hands out a token that expires within moments', () => {
  let server: TokenServer
  beforeEach(async () => {
    server = await startTokenServer()
  })
  afterEach(async () => server.close())

  /**
   * The app signed in, was closed, and is opened `elapsedMs` later (in the foreground): the
   * restored token has whatever life the wall clock says is left, and the next need decides.
   */
  const reopenedAfter = async (expiresIn: number, elapsedMs: number, overrides: Partial<SessionClientOptions> = {}) => {
    const time = createFakeTime()
    const storage = memoryStorage()
    const options = (): SessionClientOptions => ({
      storage,
      refresh: oauth2Refresh({ tokenEndpoint: server.tokenEndpoint, timers: time.timers }),
      clock: time.clock, timers: time.timers, random: () => 0.5, logger: silentLogger,
      foreground: createForegroundManager({ web: false }), online: createOnlineManager({ web: false }),
      ...overrides,
    })
    const before = createSessionClient(options())
    await before.signIn(server.initial(expiresIn))
    before.stop()
    await time.advance(elapsedMs)
    const client = createSessionClient(options())
    await client.start()
    return { client, time }
  }

  it('a token with 1 s left is refreshed on demand', async () => {
    const { client } = await reopenedAfter(600, 599_000)
    expect(await client.getAccessToken()).toBe('a1')
    expect(server.state.refreshRequests).toBe(1)
  })

  it('a token outside the margin is returned as is', async () => {
    const { client } = await reopenedAfter(600, 539_000) // 61 s left, margin 60 s
    expect(await client.getAccessToken()).toBe('a0')
    expect(server.state.refreshRequests).toBe(0)
  })

  it('the margin is bounded by half the token life: a 30 s token with 16 s left is used, with 14 s left refreshed', async () => {
    const early = await reopenedAfter(30, 14_000)
    expect(await early.client.getAccessToken()).toBe('a0')
    early.client.stop()
    const late = await reopenedAfter(30, 16_000)
    expect(await late.client.getAccessToken()).toBe('a1')
    expect(server.state.refreshRequests).toBe(1)
  })

  it('if that early refresh fails for network reasons, the still-valid token is returned', async () => {
    const { client } = await reopenedAfter(600, 590_000, { backoff: { baseMs: 30_000 } })
    server.state.mode = 'server_error'
    expect(await client.getAccessToken()).toBe('a0')
    expect(await client.getAccessToken()).toBe('a0') // while the retry waits: no new request
    expect(server.state.refreshRequests).toBe(1)
    expect(client.getState().status).toBe('offline')
  })

  it('in the background the still-valid token is returned without a refresh (ahead-of-expiry refreshes are for the foreground)', async () => {
    const foreground = createForegroundManager({ web: false })
    foreground.setForeground(false)
    const { client } = await reopenedAfter(600, 599_000, { foreground })
    expect(await client.getAccessToken()).toBe('a0')
    expect(server.state.refreshRequests).toBe(0)
  })
})
