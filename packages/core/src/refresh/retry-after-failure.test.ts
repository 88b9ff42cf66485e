import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../env/ambient.js'
import { createForegroundManager, createOnlineManager } from '../env/manager.js'
import { oauth2Refresh } from '../oauth/oauth2.js'
import { createSessionClient } from '../session/client.js'
import type { SessionClientOptions } from '../session/options.js'
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

  const setup = async (expiresIn: number) => {
    const time = createFakeTime()
    const foreground = createForegroundManager({ web: false })
    const client = createSessionClient({
      refresh: oauth2Refresh({ tokenEndpoint: server.tokenEndpoint, timers: time.timers }),
      clock: time.clock, timers: time.timers, random: () => 0.5, logger: silentLogger, foreground,
      online: createOnlineManager({ web: false }),
    })
    foreground.setForeground(false) // no proactive refresh: only the need below can refresh
    await client.signIn(server.initial(expiresIn))
    return { client, time }
  }

  it('a token with 1 s left is refreshed on demand', async () => {
    const { client, time } = await setup(600)
    await time.advance(599_000)
    expect(await client.getAccessToken()).toBe('a1')
    expect(server.state.refreshRequests).toBe(1)
  })

  it('a token outside the margin is returned as is', async () => {
    const { client, time } = await setup(600)
    await time.advance(539_000) // 61 s left, margin 60 s
    expect(await client.getAccessToken()).toBe('a0')
    expect(server.state.refreshRequests).toBe(0)
  })

  it('the margin is bounded by half the token life: a 30 s token is not refreshed at once', async () => {
    const { client, time } = await setup(30)
    await time.advance(14_000)
    expect(await client.getAccessToken()).toBe('a0')
    await time.advance(2_000) // 14 s left < 15 s
    expect(await client.getAccessToken()).toBe('a1')
    expect(server.state.refreshRequests).toBe(1)
  })

  it('if that early refresh fails for network reasons, the still-valid token is returned', async () => {
    const { client, time } = await setup(600)
    await time.advance(590_000)
    server.state.mode = 'server_error'
    expect(await client.getAccessToken()).toBe('a0')
    expect(await client.getAccessToken()).toBe('a0') // during the backoff: no new request
    expect(server.state.refreshRequests).toBe(1)
    expect(client.getState().status).toBe('offline')
  })
})
