import { afterEach, describe, expect, it, vi } from 'vitest'
import { createForegroundManager, createOnlineManager } from '../env/manager.js'
import { makeClient, pair } from '../test-support/client.js'

const DUE = 540_000 // expires_in 600 s − 60 s margin

describe('guarantee 6: proactive refresh only in the foreground; catch-up and retries', () => {
  it('pauses in the background and refreshes at once on returning to the foreground', async () => {
    const { client, time, refresh, foreground } = makeClient()
    await client.signIn(pair(1, 600))
    foreground.setForeground(false)
    await time.advance(DUE + 120_000)
    expect(refresh).not.toHaveBeenCalled()
    foreground.setForeground(true)
    await time.advance(0)
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(client.getState().status).toBe('signedIn')
  })

  it('returning to the foreground before the due time does not refresh early', async () => {
    const { client, time, refresh, foreground } = makeClient()
    await client.signIn(pair(1, 600))
    foreground.setForeground(false)
    await time.advance(100_000)
    foreground.setForeground(true)
    await time.advance(0)
    expect(refresh).not.toHaveBeenCalled()
    await time.advance(DUE - 100_000)
    expect(refresh).toHaveBeenCalledTimes(1)
  })

  it('network failures: status offline, retries with capped exponential backoff and jitter', async () => {
    const { client, time, refresh } = makeClient({ random: () => 0.5, backoff: { baseMs: 1_000, maxMs: 4_000 } })
    refresh.mockRejectedValue(new TypeError('Network request failed'))
    await client.signIn(pair(1, 600))
    await time.advance(DUE)
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(client.getState().status).toBe('offline')
    // random 0.5 → ceiling × 0.75: 750, 1500, 3000, then capped at 3000.
    for (const [i, delay] of [750, 1_500, 3_000, 3_000].entries()) {
      await time.advance(delay - 1)
      expect(refresh).toHaveBeenCalledTimes(i + 1)
      await time.advance(1)
      expect(refresh).toHaveBeenCalledTimes(i + 2)
    }
    expect(client.getState().status).toBe('offline')
    refresh.mockResolvedValue(pair(9))
    await time.advance(3_000)
    expect(client.getState().status).toBe('signedIn')
  })

  it('retries at once when connectivity returns, and not while offline', async () => {
    const { client, time, refresh, online } = makeClient({ backoff: { baseMs: 60_000, maxMs: 60_000 } })
    refresh.mockRejectedValueOnce(new TypeError('Network request failed'))
    await client.signIn(pair(1, 600))
    await time.advance(DUE)
    expect(client.getState().status).toBe('offline')
    online.setOnline(false)
    await time.advance(120_000)
    expect(refresh).toHaveBeenCalledTimes(1) // the retry fell due while offline and waited
    online.setOnline(true)
    await time.advance(0)
    expect(refresh).toHaveBeenCalledTimes(2)
    expect(client.getState().status).toBe('signedIn')
  })

  it('losing connectivity shows offline at once; back online with a valid token it is signedIn again without a refresh', async () => {
    const { client, time, refresh, online } = makeClient()
    await client.signIn(pair(1, 600))
    online.setOnline(false)
    expect(client.getState().status).toBe('offline')
    expect(client.getState().reason).toBeUndefined()
    await time.advance(60_000)
    online.setOnline(true)
    await time.advance(0)
    expect(client.getState().status).toBe('signedIn')
    expect(refresh).not.toHaveBeenCalled()
  })

  it('offline past the due time: still signed in (offline), one refresh when connectivity returns', async () => {
    const { client, time, refresh, online } = makeClient()
    await client.signIn(pair(1, 600))
    online.setOnline(false)
    await time.advance(DUE + 600_000) // well past expiry
    expect(client.getState().status).toBe('offline')
    expect(refresh).not.toHaveBeenCalled()
    online.setOnline(true)
    await time.advance(0)
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(client.getState().status).toBe('signedIn')
  })

  it('stop() clears timers and listeners', async () => {
    const { client, time, refresh } = makeClient()
    await client.signIn(pair(1, 600))
    client.stop()
    expect(time.pendingTimers()).toBe(0)
    await time.advance(DUE * 2)
    expect(refresh).not.toHaveBeenCalled()
  })
})

describe('environment managers (TanStack Query focusManager/onlineManager style)', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('setEventListener: the setup starts on first subscribe and its cleanup runs on replacement', () => {
    const manager = createForegroundManager({ web: false })
    const cleanup = vi.fn()
    let push!: (v: boolean) => void
    const setup = vi.fn((set: (v: boolean) => void) => ((push = set), cleanup))
    manager.setEventListener(setup)
    expect(setup).not.toHaveBeenCalled()
    const seen: boolean[] = []
    const off = manager.subscribe((v) => seen.push(v))
    expect(setup).toHaveBeenCalledTimes(1)
    push(false)
    push(false)
    push(true)
    expect(seen).toEqual([false, true])
    expect(manager.isForeground()).toBe(true)
    manager.setEventListener(() => undefined)
    expect(cleanup).toHaveBeenCalledTimes(1)
    off()
  })

  it('web default follows document visibility and window online/offline, only once subscribed', () => {
    const docListeners = new Map<string, () => void>()
    const winListeners = new Map<string, () => void>()
    const doc = {
      visibilityState: 'visible',
      addEventListener: vi.fn((t: string, f: () => void) => docListeners.set(t, f)),
      removeEventListener: vi.fn((t: string) => docListeners.delete(t)),
    }
    vi.stubGlobal('document', doc)
    vi.stubGlobal('window', {
      addEventListener: (t: string, f: () => void) => winListeners.set(t, f),
      removeEventListener: (t: string) => winListeners.delete(t),
    })
    const fg = createForegroundManager()
    const on = createOnlineManager()
    expect(doc.addEventListener).not.toHaveBeenCalled()
    const offFg = fg.subscribe(() => undefined)
    const offOn = on.subscribe(() => undefined)
    doc.visibilityState = 'hidden'
    docListeners.get('visibilitychange')!()
    expect(fg.isForeground()).toBe(false)
    winListeners.get('offline')!()
    expect(on.isOnline()).toBe(false)
    winListeners.get('online')!()
    expect(on.isOnline()).toBe(true)
    offFg()
    offOn()
    expect(docListeners.size).toBe(0)
    expect(winListeners.size).toBe(0)
  })

  it('without document/window (React Native, Node) the defaults do nothing and stay true', () => {
    const fg = createForegroundManager()
    const off = fg.subscribe(() => undefined)
    expect(fg.isForeground()).toBe(true)
    off()
  })
})
