// The client's deadlines and the server's grace window, as one design, across the real parts:
// the @latchkey/core session client, the Latchkey server on PGlite and PostgreSQL, one fake
// clock driving both, and a network that holds the answer of a refresh the server performed.
import {
  SESSION_DEFAULTS, createForegroundManager, createOnlineManager, createSessionClient, latestRetryArrivalMs,
  memoryStorage, oauth2Refresh, silentLogger, type FetchLike, type SessionEvents,
} from '@latchkey/core'
import { createFakeTime } from '@latchkey/core/testing'
import { describe, expect, it } from 'vitest'
import { SERVER_DEFAULTS, countAuditEvents } from '@latchkey/server'
import { testBackends } from '../packages/server/src/test-support/databases.js'
import { getMe, serverForSuite, signUp, sidOf } from '../packages/server/src/test-support/server.js'

describe('deadlines and grace are one design', () => {
  it("the server's default grace exceeds the latest retry of a client that stays online, even after three lost answers in a row", () => {
    expect(latestRetryArrivalMs(SESSION_DEFAULTS, 1)).toBe(21_000)
    expect(latestRetryArrivalMs(SESSION_DEFAULTS, 3)).toBe(47_000)
    expect(latestRetryArrivalMs(SESSION_DEFAULTS, 3)).toBeLessThan(SERVER_DEFAULTS.refreshGrace * 1000)
  })
})

/**
 * A network between the client and the server whose next token answer is held: the request
 * reaches the server (which rotates the pair) and the answer comes back only when `release()` is
 * called; if the client gave up meanwhile (its signal aborted), the answer is lost.
 */
function holdingNetwork() {
  let holdNext = false
  let onForwarded: (() => void) | null = null
  let release: (() => void) | null = null
  const fetch: FetchLike = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input)
    if (!holdNext || !url.endsWith('/oauth/token')) return globalThis.fetch(input, init)
    holdNext = false
    const answer = await globalThis.fetch(input, { ...init, signal: null })
    const body = await answer.arrayBuffer() // the server has rotated by now
    onForwarded?.()
    const signal = init?.signal
    await new Promise<void>((resolve, reject) => {
      release = resolve
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
    return new Response(body, { status: answer.status, headers: answer.headers })
  }
  return {
    fetch,
    /** Hold the next token answer; resolves once the server has processed that request. */
    holdNext: () =>
      new Promise<void>((resolve) => {
        holdNext = true
        onForwarded = resolve
      }),
    release: () => release?.(),
  }
}

describe.each(testBackends())('a held refresh answer never signs out a user who stays online (%s)', (backend) => {
  const clock = createFakeTime({ wall: Date.now() })
  const suite = serverForSuite(backend, { now: () => new Date(clock.wall), rateLimit: false })

  it.each([1, 5, 15, 30, 60])('answer held %i s, defaults on both sides: still signed in, one rotation, no reuse', async (holdSeconds) => {
    const base = suite.server.url
    const { access_token, refresh_token, token_type, expires_in } = await signUp(base)
    const network = holdingNetwork()
    const client = createSessionClient({
      storage: memoryStorage(),
      refresh: oauth2Refresh({ tokenEndpoint: `${base}/oauth/token`, fetch: network.fetch, timers: clock.timers }),
      clock: clock.clock, timers: clock.timers,
      foreground: createForegroundManager({ web: false }), online: createOnlineManager({ web: false }),
      random: () => 1, // the longest backoff the defaults allow
      logger: silentLogger,
    })
    const events: string[] = []
    client.on('refreshed', () => events.push('refreshed'))
    client.on('refreshFailed', (e: SessionEvents['refreshFailed']) => events.push(`failed:${e.error.code}`))
    client.on('signedOut', (e) => events.push(`signedOut:${e.reason}`))
    /** The next `name` event; a sign-out before it fails the test at once, with its reason. */
    const next = (name: 'refreshed' | 'refreshFailed') =>
      new Promise<void>((resolve, reject) => {
        const offs = [
          client.on(name, () => (offs.forEach((off) => off()), resolve())),
          client.on('signedOut', (e) => (offs.forEach((off) => off()), reject(new Error(`signed out (${e.reason}) waiting for ${name}`)))),
        ]
      })
    await client.signIn({ access_token, refresh_token, token_type, expires_in })

    // The app is open and online; its refresh ahead of expiry is sent, the server rotates, and
    // the network holds the answer.
    const forwarded = network.holdNext()
    await clock.advance((expires_in - 60) * 1000)
    await forwarded
    const deadline = SESSION_DEFAULTS.refreshTimeoutMs
    if (holdSeconds * 1000 < deadline) {
      const refreshed = next('refreshed')
      await clock.advance(holdSeconds * 1000)
      network.release()
      await refreshed
    } else {
      // The client gives up at its deadline and retries after its first backoff step ...
      const failed = next('refreshFailed')
      await clock.advance(deadline)
      await failed
      const refreshed = next('refreshed')
      await clock.advance(SESSION_DEFAULTS.backoff.baseMs)
      await refreshed
      // ... and the held answer finally arrives: its client is long gone.
      await clock.advance(holdSeconds * 1000 - deadline - SESSION_DEFAULTS.backoff.baseMs)
      network.release()
    }
    const initial = { access_token }

    expect(events.filter((e) => e.startsWith('signedOut'))).toEqual([])
    expect(client.getState().status).toBe('signedIn')
    const token = await client.getAccessToken()
    expect(token).not.toBe(initial.access_token)
    expect((await getMe(base, token!)).status).toBe(200)
    const sid = sidOf(initial.access_token)
    expect(await countAuditEvents(suite.server.db, 'refresh', { sessionId: sid })).toBe(1)
    expect(await countAuditEvents(suite.server.db, 'refresh_reuse_detected', { sessionId: sid })).toBe(0)
    expect(await countAuditEvents(suite.server.db, 'refresh_grace', { sessionId: sid })).toBe(holdSeconds * 1000 < deadline ? 0 : 1)
    client.stop()
  })
})
