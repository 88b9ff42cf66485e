import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../env/ambient.js'
import { createForegroundManager } from '../env/manager.js'
import { oauth2Refresh, type RefreshFn } from '../oauth/oauth2.js'
import { createSessionClient } from '../session/client.js'
import type { PersistTokens } from '../session/session.js'
import { memoryStorage } from '../storage/memory.js'
import type { SessionStorage } from '../storage/types.js'
import { broadcastSync, type SessionSync } from '../sync/broadcast.js'
import { fakeWebLocks } from '../test-support/fake-web-locks.js'
import { startTokenServer, type TokenServer } from '../test-support/token-server.js'
import { inProcessLock, webLocks, type LockManagerLike } from './lock.js'

/** Polls until `check` holds; bounded by the test's timeout, not by a count of ticks (finding 17). */
const waitFor = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setTimeout(r, 5))
}

describe('guarantee 9: two contexts, one storage, Web Locks + BroadcastChannel', () => {
  let server: TokenServer
  const syncs: SessionSync[] = []
  beforeEach(async () => {
    server = await startTokenServer()
  })
  afterEach(async () => {
    for (const s of syncs.splice(0)) s.close()
    vi.unstubAllGlobals()
    await server.close()
  })

  /** A "tab": its own client, lock handle and channel, sharing the origin's storage and lock manager. */
  const tab = (storage: SessionStorage, locks: LockManagerLike | undefined, refresh: RefreshFn, persistTokens: PersistTokens = 'all') => {
    const sync = broadcastSync({ name: `lk-test-${server.origin}`, BroadcastChannel: globalThis.BroadcastChannel })
    syncs.push(sync)
    return createSessionClient({
      storage,
      refresh,
      persistTokens,
      lock: webLocks(locks ? { locks } : {}),
      sync,
      logger: silentLogger,
      foreground: createForegroundManager({ web: false }),
    })
  }

  /** Counts refresh requests and how many ran at once. */
  const counting = (inner: RefreshFn) => {
    const stats = { calls: 0, inFlight: 0, maxInFlight: 0 }
    const refresh: RefreshFn = async (rt, ctx) => {
      stats.calls++
      stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight)
      try {
        await new Promise((r) => setTimeout(r, 20))
        return await inner(rt, ctx)
      } finally {
        stats.inFlight--
      }
    }
    return { refresh, stats }
  }

  it('100 concurrent needs across both tabs cause exactly one refresh (injected navigator.locks)', async () => {
    const storage = memoryStorage()
    const locks = fakeWebLocks()
    const { refresh, stats } = counting(oauth2Refresh({ tokenEndpoint: server.tokenEndpoint }))
    const a = tab(storage, locks, refresh)
    const b = tab(storage, locks, refresh)
    await a.signIn(server.initial(0)) // expired at once
    await b.start()
    const needs = Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).getAccessToken())
    const tokens = await Promise.all(needs)
    expect(new Set(tokens)).toEqual(new Set(['a1']))
    expect(stats.calls).toBe(1)
    expect(server.state.refreshRequests).toBe(1)
    expect(stats.maxInFlight).toBe(1)
    expect(a.getState().status).toBe('signedIn')
    expect(b.getState().status).toBe('signedIn')
  })

  it('cookie mode: a tab whose view of the shared storage lags behind the other tab (browsers sync localStorage between tab processes asynchronously) still refreshes once', async () => {
    // One origin's storage, seen by each tab through its own copy that another tab's write
    // reaches only when the test says (as Chromium's per-process localStorage caches do).
    const shared = memoryStorage()
    const lagging = () => {
      let copy = new Map<string, string>()
      const view: SessionStorage & { sync(): Promise<void> } = {
        getItem: async (k) => copy.get(k) ?? null,
        setItem: async (k, v) => {
          copy.set(k, v)
          await shared.setItem(k, v)
        },
        removeItem: async (k) => {
          copy.delete(k)
          await shared.removeItem(k)
        },
        async sync() {
          const next = new Map<string, string>()
          for (const k of ['latchkey.session', 'latchkey.session.revocations']) {
            const v = await shared.getItem(k)
            if (v !== null) next.set(k, v)
          }
          copy = next
        },
      }
      return view
    }
    const locks = fakeWebLocks()
    const { refresh, stats } = counting(oauth2Refresh({ tokenEndpoint: server.tokenEndpoint }))
    const viewA = lagging()
    const viewB = lagging()
    const a = tab(viewA, locks, refresh, 'none')
    const b = tab(viewB, locks, refresh, 'none')
    await a.signIn(server.initial(0)) // expired at once
    await viewB.sync()
    await b.start()
    // Both tabs need a token at once; B's copy of the storage never sees A's new record.
    const tokens = await Promise.all([a.getAccessToken(), b.getAccessToken()])
    expect(stats.calls).toBe(1)
    expect(new Set(tokens)).toEqual(new Set(['a1']))
  })

  it('uses globalThis.navigator.locks when none is injected', async () => {
    const locks = fakeWebLocks()
    const request = vi.spyOn(locks, 'request')
    vi.stubGlobal('navigator', { locks })
    const storage = memoryStorage()
    const { refresh, stats } = counting(oauth2Refresh({ tokenEndpoint: server.tokenEndpoint }))
    const a = tab(storage, undefined, refresh)
    const b = tab(storage, undefined, refresh)
    await a.signIn(server.initial(0))
    await b.start()
    await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).getAccessToken()))
    expect(stats.calls).toBe(1)
    expect(request).toHaveBeenCalled()
  })

  it('without a shared lock (the control), the same needs spend the refresh token twice', async () => {
    const storage = memoryStorage()
    const { refresh, stats } = counting(oauth2Refresh({ tokenEndpoint: server.tokenEndpoint }))
    const mk = () => createSessionClient({ storage, refresh, lock: inProcessLock(), logger: silentLogger, foreground: createForegroundManager({ web: false }) })
    const a = mk()
    const b = mk()
    await a.signIn(server.initial(0))
    await b.start()
    await Promise.allSettled(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).getAccessToken()))
    expect(stats.calls).toBe(2)
  })

  it("cookie mode ('none'): a new access token reaches the other tab by BroadcastChannel", async () => {
    const storage = memoryStorage()
    const locks = fakeWebLocks()
    let n = 0
    const { refresh, stats } = counting(async (rt) => {
      expect(rt).toBeNull() // the credential is an httpOnly cookie
      return { access_token: `cookie-access-${++n}`, token_type: 'Bearer', expires_in: 600 }
    })
    const a = tab(storage, locks, refresh, 'none')
    const b = tab(storage, locks, refresh, 'none')
    await b.start()
    await a.signIn({ access_token: 'cookie-access-0', token_type: 'Bearer', expires_in: 600 })
    await waitFor(() => b.getState().status === 'signedIn')
    expect(await b.getAccessToken()).toBe('cookie-access-0')
    expect(stats.calls).toBe(0)
  })

  it('cookie mode: a tab granted the lock before the new pair\'s broadcast arrives waits for it instead of refreshing again', async () => {
    const storage = memoryStorage()
    const locks = fakeWebLocks()
    let n = 0
    const { refresh, stats } = counting(async () => ({ access_token: `cookie-access-${++n}`, token_type: 'Bearer', expires_in: 600 }))
    // The channel delivers late: the other tab gets the lock long before it hears of the new pair.
    class SlowChannel {
      private inner: BroadcastChannel
      constructor(name: string) {
        this.inner = new BroadcastChannel(name)
      }
      postMessage(message: unknown) {
        setTimeout(() => this.inner.postMessage(message), 150)
      }
      addEventListener(type: 'message', listener: (event: { data: unknown }) => void) {
        this.inner.addEventListener(type, listener as (event: MessageEvent) => void)
      }
      close() {
        setTimeout(() => this.inner.close(), 300)
      }
    }
    const apiFetch = async (input: RequestInfo | URL, init?: RequestInit) =>
      new Response(null, { status: new Request(input, init).headers.get('Authorization') === 'Bearer cookie-access-0' ? 401 : 200 })
    const slowTab = () => {
      const sync = broadcastSync({ name: `lk-slow-${server.origin}`, BroadcastChannel: SlowChannel })
      syncs.push(sync)
      return createSessionClient({
        storage, refresh, persistTokens: 'none', lock: webLocks({ locks }), sync, fetch: apiFetch, tokenOrigins: ['https://api.test'],
        logger: silentLogger, foreground: createForegroundManager({ web: false }),
      })
    }
    const a = slowTab()
    const b = slowTab()
    await b.start()
    await a.signIn({ access_token: 'cookie-access-0', token_type: 'Bearer', expires_in: 600 })
    await waitFor(() => b.getState().status === 'signedIn')
    const [ra, rb] = await Promise.all([a.fetch('https://api.test/me'), b.fetch('https://api.test/me')])
    expect([ra.status, rb.status]).toEqual([200, 200])
    expect(stats.calls).toBe(1)
    expect(await a.getAccessToken()).toBe('cookie-access-1')
    expect(await b.getAccessToken()).toBe('cookie-access-1')
  })

  it('a restart in cookie mode restores by refreshing with null', async () => {
    const storage = memoryStorage()
    const { refresh, stats } = counting(async () => ({ access_token: 'fresh', token_type: 'Bearer', expires_in: 600 }))
    const a = tab(storage, fakeWebLocks(), refresh, 'none')
    await a.signIn({ access_token: 'first', token_type: 'Bearer', expires_in: 600 })
    a.stop()
    const b = tab(storage, fakeWebLocks(), refresh, 'none')
    await b.start()
    expect(await b.getAccessToken()).toBe('fresh')
    expect(stats.calls).toBe(1)
  })

  it('signing out in one tab signs the other out (signed_out_elsewhere)', async () => {
    const storage = memoryStorage()
    const locks = fakeWebLocks()
    const refresh = oauth2Refresh({ tokenEndpoint: server.tokenEndpoint })
    const a = tab(storage, locks, refresh)
    const b = tab(storage, locks, refresh)
    await a.signIn(server.initial(600))
    await b.start()
    expect(b.getState().status).toBe('signedIn')
    await a.signOut()
    await waitFor(() => b.getState().status === 'signedOut')
    expect(b.getState().reason).toBe('signed_out_elsewhere')
  })
})
