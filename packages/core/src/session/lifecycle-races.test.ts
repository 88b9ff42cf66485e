// Session lifecycle races: a refresh in flight across lock, unlock, sign-in, sign-out and stop;
// needs waiting for a planned retry; the early refresh inside the margin.
import { describe, expect, it, vi } from 'vitest'
import { memoryStorage } from '../storage/memory.js'
import type { SessionStorage } from '../storage/types.js'
import type { TokenResponse } from './token-response.js'
import { makeClient, pair } from '../test-support/client.js'
import { settle } from '../test-support/fake-time.js'
import { NetworkError } from '../errors/errors.js'
import type { SyncMessage } from '../sync/broadcast.js'

const deferred = <T>() => {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** A refresh function whose answers the test releases by hand. */
const manualRefresh = () => {
  const calls: Array<{ rt: string | null; answer: ReturnType<typeof deferred<TokenResponse>> }> = []
  const fn = vi.fn((rt: string | null) => {
    const answer = deferred<TokenResponse>()
    calls.push({ rt, answer })
    return answer.promise
  })
  return { fn, calls }
}

const KEY = 'latchkey.session'

describe('ending a session also ends its refresh in flight, whether the app is locked or not', () => {
  it('refresh in flight, lock(), signOut(): the late answer is not stored, and is revoked', async () => {
    const storage = memoryStorage()
    const { fn, calls } = manualRefresh()
    const revoke = vi.fn(async (_token: string | null) => undefined)
    const { client } = makeClient({ storage, refresh: fn, revoke })
    await client.signIn(pair(1, 0)) // expired at once: a need refreshes
    const need = client.getAccessToken().catch((e: unknown) => e)
    await settle()
    expect(calls.length).toBe(1)
    client.lock()
    await client.signOut()
    expect(await storage.getItem(KEY)).toBeNull()
    calls[0]!.answer.resolve(pair(2))
    await need
    await settle()
    // Signed out: storage must not hold the new pair (the next start would restore a session the
    // user ended), and that pair, live at the server, is revoked.
    expect(await storage.getItem(KEY)).toBeNull()
    expect(revoke.mock.calls.map((c) => c[0])).toContain('refresh-2')
  })

  /** Signed in with an expired token, and a need whose refresh is in flight (answered by hand). */
  const refreshInFlight = async () => {
    const storage = memoryStorage()
    const { fn, calls } = manualRefresh()
    const { client } = makeClient({ storage, refresh: fn })
    await client.signIn(pair(1, 0))
    const need = client.getAccessToken().catch((e: unknown) => e)
    await settle()
    return { storage, calls, client, need }
  }

  it('refresh in flight, lock(), unlock(), signOut(): the late answer is not stored (the session keeps one controller across lock)', async () => {
    const { storage, calls, client, need } = await refreshInFlight()
    client.lock()
    await client.unlock()
    await client.signOut()
    calls[0]!.answer.resolve(pair(2))
    await need
    await settle()
    expect(await storage.getItem(KEY)).toBeNull()
  })

  it("refresh in flight for user A, lock(), signIn(user B): B stays, in storage and in memory; A's late pair is dropped", async () => {
    const { storage, calls, client, need } = await refreshInFlight()
    client.lock()
    await client.signIn({ access_token: 'B-access', token_type: 'Bearer', expires_in: 600, refresh_token: 'B-refresh' })
    calls[0]!.answer.resolve(pair(2))
    await need
    await settle()
    expect(await client.getAccessToken()).toBe('B-access')
    expect(JSON.parse((await storage.getItem(KEY))!).refreshToken).toBe('B-refresh')
  })
})

describe('a need waiting for the planned retry never waits past the moment it cannot run', () => {
  const setup = async () => {
    let n = 0
    let failing = true
    const refresh = vi.fn(async (): Promise<TokenResponse> => {
      if (failing) throw new NetworkError('server_error', '503')
      return pair(++n + 100)
    })
    const env = makeClient({ refresh })
    await env.client.signIn(pair(1, 0)) // expired: every need refreshes
    await expect(env.client.getAccessToken()).rejects.toMatchObject({ code: 'LK_NETWORK' }) // retry planned in 750 ms
    failing = false
    return env
  }

  it('offline at the due time: the waiting need gets the last error, not a wait until the network returns', async () => {
    const { client, time, online } = await setup()
    let outcome = 'pending'
    void client.getAccessToken().then(() => (outcome = 'token'), () => (outcome = 'error'))
    await settle()
    online.setOnline(false) // lost the network before the retry fell due
    await time.advance(60 * 60_000) // an hour offline
    expect(outcome).not.toBe('pending')
  })

  it('sent to the background before the due time: the waiting need gets the last error', async () => {
    const { client, time, foreground } = await setup()
    let outcome = 'pending'
    void client.getAccessToken().then(() => (outcome = 'token'), () => (outcome = 'error'))
    await settle()
    foreground.setForeground(false)
    await time.advance(60 * 60_000)
    expect(outcome).not.toBe('pending')
  })
})

describe('a still-valid token inside the margin survives any failure of the early refresh', () => {
  it('every storage write fails (a locked device) while refreshing inside the margin: the token, valid 30 s more, is returned', async () => {
    const inner = memoryStorage()
    let failWrites = false
    const storage: SessionStorage = {
      getItem: (k) => inner.getItem(k),
      setItem: async (k, v) => {
        if (failWrites) throw new Error('keychain unavailable (device locked)')
        return inner.setItem(k, v)
      },
      removeItem: (k) => inner.removeItem(k),
    }
    const { client, time } = makeClient({ storage })
    await client.signIn(pair(1, 600))
    failWrites = true // from now on every write fails (e.g. iOS keychain while the device is locked)
    await time.advance(570_000) // 30 s left: inside the 60 s margin
    await expect(client.getAccessToken()).resolves.toMatch(/^access-/)
  })

  it('an OAuth error (invalid_client) from the early refresh: the still-valid token is returned', async () => {
    const refresh = vi.fn(async (): Promise<TokenResponse> => {
      const { OAuthError } = await import('../errors/errors.js')
      throw new OAuthError('invalid_client', { status: 401 })
    })
    const { client, time } = makeClient({ refresh, refreshMargin: 60_000 })
    await client.signIn(pair(1, 600))

    await time.advance(570_000)
    await expect(client.getAccessToken()).resolves.toBe('access-1')
  })
})

describe('nothing fires after stop()', () => {
  it('a refresh that settles after stop() arms no timer', async () => {
    const { fn, calls } = manualRefresh()
    const { client, time } = makeClient({ refresh: fn })
    await client.signIn(pair(1, 0))
    const need = client.getAccessToken()
    await settle()
    client.stop()
    calls[0]!.answer.resolve(pair(2))
    await need
    await settle()
    expect(time.pendingTimers()).toBe(0)
  })
})

describe('ahead-of-expiry refreshes happen only in the foreground, on demand too', () => {
  it('background, token valid for 30 more seconds: no refresh request is sent', async () => {
    const { client, time, refresh, foreground } = makeClient()
    await client.signIn(pair(1, 600))
    foreground.setForeground(false) // proactive refresh at 540 s is not armed in the background
    await time.advance(570_000)
    expect(refresh).not.toHaveBeenCalled()
    await client.getAccessToken()
    // e466f03: 0 calls (usable token returned). Now: a rotation from a background task, whose lost
    // answer is retried only when the app returns to the foreground, possibly after the grace window.
    expect(refresh).not.toHaveBeenCalled()
  })
})

describe('a late pair broadcast does not undo a sign-out', () => {
  it("cookie mode: sign out, then another tab's late 'pair' message from a refresh arrives: still signed out; a sign-in's pair is adopted", async () => {
    const listeners = new Set<(m: SyncMessage) => void>()
    const sync = { publish: () => undefined, subscribe: (l: (m: SyncMessage) => void) => (listeners.add(l), () => void listeners.delete(l)), close() {} }
    const { client } = makeClient({ sync, persistTokens: 'none' })
    await client.signIn(pair(1, 600))
    await client.signOut()
    for (const l of listeners) l({ type: 'pair', id: 'other-tab-rotated', accessToken: 'access-from-other-tab', tokenType: 'Bearer', remainingMs: 600_000, origin: 'refresh' })
    await settle()
    expect(client.getState().status).toBe('signedOut')
    for (const l of listeners) l({ type: 'pair', id: 'other-tab-signed-in', accessToken: 'access-new-sign-in', tokenType: 'Bearer', remainingMs: 600_000, origin: 'signIn' })
    await settle()
    expect(client.getState().status).toBe('signedIn')
    expect(await client.getAccessToken()).toBe('access-new-sign-in')
  })
})
