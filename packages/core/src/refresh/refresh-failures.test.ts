import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../env/ambient.js'
import { createForegroundManager, createOnlineManager } from '../env/manager.js'
import { oauth2Refresh } from '../oauth/oauth2.js'
import { createSessionClient } from '../session/client.js'
import type { SessionEvents } from '../session/events.js'
import { memoryStorage } from '../storage/memory.js'
import { decodeRecord } from '../storage/record.js'
import { createFakeTime, type FakeTime } from '../test-support/fake-time.js'
import { startTokenServer, type RefreshMode, type TokenServer } from '../test-support/token-server.js'

const TIMEOUT_MS = 400

describe('guarantee 2: failed refreshes keep the session; only invalid_grant ends it', () => {
  let server: TokenServer
  beforeEach(async () => {
    server = await startTokenServer()
  })
  afterEach(async () => {
    await server.close()
  })

  // Time is the injected clock (issue 11, finding 17): the refresh deadline fires only when the test
  // moves the clock, so a busy machine cannot turn a dropped connection into a timeout.
  const setup = async (time: FakeTime = createFakeTime(), refresh = oauth2Refresh({ tokenEndpoint: server.tokenEndpoint, timeoutMs: 5_000, timers: time.timers })) => {
    const storage = memoryStorage()
    const online = createOnlineManager({ web: false })
    const client = createSessionClient({
      storage,
      refresh,
      clock: time.clock,
      timers: time.timers,
      refreshTimeoutMs: TIMEOUT_MS,
      // A retry planned far away: no timer of the machine's speed races the test.
      backoff: { baseMs: 600_000 },
      logger: silentLogger,
      foreground: createForegroundManager({ web: false }),
      online,
    })
    const failures: SessionEvents['refreshFailed'][] = []
    client.on('refreshFailed', (e) => failures.push(e))
    await client.signIn(server.initial(0)) // expired: every need refreshes
    /** Connectivity returns: the planned retry runs now. */
    const reconnect = () => {
      online.setOnline(false)
      online.setOnline(true)
    }
    return { client, storage, failures, reconnect }
  }

  const cases: Array<[string, RefreshMode, string]> = [
    ['the connection drops', 'destroy', 'LK_NETWORK'],
    ['the server answers 503', 'server_error', 'LK_NETWORK'],
    ['the server answers 429', 'rate_limited', 'LK_NETWORK'],
    ['the body is malformed', 'malformed', 'LK_NETWORK'],
    ['the server never answers', 'hang', 'LK_TIMEOUT'],
  ]

  it.each(cases)('when %s: session and tokens kept, waiters fail typed and in time, slot released', async (_label, mode, code) => {
    const time = createFakeTime()
    const { client, storage, failures, reconnect } = await setup(time)
    server.state.mode = mode
    const started = time.monotonic
    let settledAt: number | undefined
    const all = Promise.allSettled(Array.from({ length: 20 }, () => client.getAccessToken())).then((r) => {
      settledAt = time.monotonic
      return r
    })
    if (mode === 'hang') {
      await server.hanging(1)
      await time.advance(TIMEOUT_MS - 1)
      expect(settledAt).toBeUndefined() // still waiting, one tick before the deadline
      await time.advance(1)
    }
    const results = await all
    // In time: a failure answer settles every waiter with no time passing; silence, at the deadline.
    expect(settledAt! - started).toBe(mode === 'hang' ? TIMEOUT_MS : 0)
    for (const r of results) {
      expect(r.status).toBe('rejected')
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code })
    }
    expect(server.state.refreshRequests).toBe(1)
    expect(client.getState()).toMatchObject({ status: 'offline', error: { code } })
    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatchObject({ willRetry: true })
    // Tokens kept, in memory and in storage.
    expect(decodeRecord((await storage.getItem('latchkey.session'))!).refreshToken).toBe('r0')
    // The slot was released: the next need makes a new request, which now succeeds.
    server.state.mode = 'ok'
    reconnect()
    expect(await client.getAccessToken()).toBe('a1')
    expect(server.state.refreshRequests).toBe(2)
    expect(client.getState().status).toBe('signedIn')
    client.stop()
  })

  it('a refresh function that throws (not a Latchkey error) is network-class', async () => {
    let calls = 0
    const { client, reconnect } = await setup(undefined, async () => {
      calls++
      throw new TypeError('Network request failed')
    })
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'LK_NETWORK' })
    expect(client.getState().status).toBe('offline')
    reconnect()
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'LK_NETWORK' })
    expect(calls).toBe(2)
    client.stop()
  })

  it('invalid_grant signs out with reason refresh_rejected and clears storage', async () => {
    const { client, storage, failures } = await setup()
    const reasons: string[] = []
    client.on('signedOut', (e) => reasons.push(e.reason))
    server.state.mode = 'invalid_grant'
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => client.getAccessToken()))
    expect(results.every((r) => r.status === 'rejected' && r.reason.code === 'LK_REFRESH_REJECTED')).toBe(true)
    expect(server.state.refreshRequests).toBe(1)
    expect(client.getState()).toMatchObject({ status: 'signedOut', reason: 'refresh_rejected' })
    expect(reasons).toEqual(['refresh_rejected'])
    expect(failures[0]).toMatchObject({ willRetry: false })
    expect(await storage.getItem('latchkey.session')).toBeNull()
    expect(await client.getAccessToken()).toBeNull()
    client.stop()
  })

  it('an app rule (isRefreshRejected) can declare other failures final', async () => {
    const client = createSessionClient({
      refresh: async () => {
        throw Object.assign(new Error('account locked'), { status: 403 })
      },
      isRefreshRejected: (e) => (e as { status?: number }).status === 403,
      logger: silentLogger,
      foreground: createForegroundManager({ web: false }),
    })
    await client.signIn(server.initial(0))
    await expect(client.getAccessToken()).rejects.toBeTruthy()
    expect(client.getState()).toMatchObject({ status: 'signedOut', reason: 'refresh_rejected' })
    client.stop()
  })
})
