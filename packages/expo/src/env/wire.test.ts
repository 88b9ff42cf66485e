import { createForegroundManager, createOnlineManager, createSessionClient, memoryStorage, silentLogger } from '@latchkey/core'
import { createFakeTime } from '../test-support/fake-time.js'
import { describe, expect, it } from 'vitest'
import { fakeAppState, fakeNetInfo } from '../test-support/fake-rn.js'
import { wireAppState, wireNetInfo } from './wire.js'

describe('AppState → foreground manager', () => {
  it('follows active/background, ignores inactive, and unsubscribes with the last listener', () => {
    const fg = createForegroundManager({ web: false })
    const appState = fakeAppState('background')
    wireAppState(fg, appState)
    const seen: boolean[] = []
    const stop = fg.subscribe((v) => seen.push(v))
    expect(fg.isForeground()).toBe(false)
    appState.emit('active')
    appState.emit('inactive')
    appState.emit('background')
    appState.emit('inactive')
    appState.emit('active')
    expect(seen).toEqual([false, true, false, true])
    stop()
    expect(appState.listeners).toBe(0)
  })
})

describe('NetInfo → online manager', () => {
  it('is offline when not connected or not reachable; unknown reachability counts as online', () => {
    const online = createOnlineManager({ web: false })
    const netInfo = fakeNetInfo()
    wireNetInfo(online, netInfo)
    const stop = online.subscribe(() => undefined)
    netInfo.emit({ isConnected: false })
    expect(online.isOnline()).toBe(false)
    netInfo.emit({ isConnected: true, isInternetReachable: null })
    expect(online.isOnline()).toBe(true)
    netInfo.emit({ isConnected: true, isInternetReachable: false })
    expect(online.isOnline()).toBe(false)
    stop()
    expect(netInfo.listeners).toBe(0)
  })
})

describe('proactive refresh follows AppState', () => {
  it('pauses in the background and catches up on return', async () => {
    const time = createFakeTime()
    const foreground = createForegroundManager({ web: false })
    const appState = fakeAppState('active')
    wireAppState(foreground, appState)
    let refreshes = 0
    const client = createSessionClient({
      storage: memoryStorage(), logger: silentLogger, clock: time.clock, timers: time.timers, foreground,
      online: createOnlineManager({ web: false }),
      refresh: async () => ({ access_token: `a${++refreshes + 1}`, token_type: 'Bearer', expires_in: 120, refresh_token: 'r' }),
    })
    await client.start()
    await client.signIn({ access_token: 'a1', token_type: 'Bearer', expires_in: 120, refresh_token: 'r' })
    await time.advance(10_000)
    appState.emit('background')
    await time.advance(300_000) // far past expiry − margin, in the background
    expect(refreshes).toBe(0)
    appState.emit('active')
    await time.advance(0)
    expect(refreshes).toBe(1)
    expect(await client.getAccessToken()).toBe('a2')
    client.stop()
  })
})
