// The Zustand recipe in README.md ("A Zustand store that mirrors the session"): the same code,
// proved to follow sign-in, refresh and sign-out, and never to hold a token.
import { createForegroundManager, createOnlineManager, createSessionClient, memoryStorage, silentLogger, type SessionClient, type SessionState, type TokenResponse } from '@latchkey/core'
import { afterEach, describe, expect, it } from 'vitest'
import { create } from 'zustand'

// ---- the recipe, as in the README ----
interface AuthView {
  status: SessionState['status']
  ready: boolean
  userId: string | null
  signOutReason: string | null
}

const toView = (s: SessionState): AuthView => ({
  status: s.status,
  ready: s.ready,
  userId: typeof s.claims?.sub === 'string' ? s.claims.sub : null,
  signOutReason: s.reason ?? null,
})

function mirrorSession(session: SessionClient) {
  const useAuth = create<AuthView>(() => toView(session.getState()))
  session.subscribe(() => useAuth.setState(toView(session.getState())))
  return useAuth
}
// ---- end of the recipe ----

const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
const pair = (n: number, expiresIn = 600): TokenResponse => ({
  access_token: `${b64({ alg: 'none' })}.${b64({ sub: `user-${n}` })}.sig-${n}`,
  token_type: 'Bearer',
  expires_in: expiresIn,
  refresh_token: `refresh-token-${n}`,
})

const deferred = <T>() => {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

const clients: SessionClient[] = []
afterEach(() => {
  for (const c of clients.splice(0)) c.stop()
})

function setup() {
  let answer = deferred<TokenResponse>()
  const refreshCalled = deferred<void>()
  const session = createSessionClient({
    storage: memoryStorage(),
    refresh: async () => {
      refreshCalled.resolve()
      const a = await answer.promise
      answer = deferred()
      return a
    },
    tokenOrigins: ['https://api.example.com'],
    logger: silentLogger,
    foreground: createForegroundManager({ web: false }),
    online: createOnlineManager({ web: false }),
  })
  clients.push(session)
  const useAuth = mirrorSession(session)
  const seen: AuthView[] = [useAuth.getState()]
  useAuth.subscribe((view) => seen.push(view))
  return { session, useAuth, seen, refreshCalled: refreshCalled.promise, answer: (r: TokenResponse) => answer.resolve(r) }
}

describe('a Zustand store that mirrors the session through subscribe', () => {
  it('follows sign-in, refresh and sign-out', async () => {
    const { session, useAuth, refreshCalled, answer } = setup()
    expect(useAuth.getState()).toEqual({ status: 'signedOut', ready: false, userId: null, signOutReason: null })
    await session.start()
    expect(useAuth.getState()).toEqual({ status: 'signedOut', ready: true, userId: null, signOutReason: null })

    await session.signIn(pair(1, 0)) // expired at once: the next token request refreshes
    expect(useAuth.getState()).toEqual({ status: 'signedIn', ready: true, userId: 'user-1', signOutReason: null })

    const token = session.getAccessToken()
    await refreshCalled
    expect(useAuth.getState().status).toBe('refreshing')
    answer(pair(2))
    expect(await token).toBe(pair(2).access_token)
    expect(useAuth.getState()).toEqual({ status: 'signedIn', ready: true, userId: 'user-2', signOutReason: null })

    await session.signOut()
    expect(useAuth.getState()).toEqual({ status: 'signedOut', ready: true, userId: null, signOutReason: 'user' })
  })

  it('never holds a token, in any state it went through', async () => {
    const { session, seen, refreshCalled, answer } = setup()
    await session.start()
    await session.signIn(pair(1, 0))
    const token = session.getAccessToken()
    await refreshCalled
    answer(pair(2))
    await token
    await session.signOut()
    expect(seen.map((v) => v.status)).toEqual(expect.arrayContaining(['signedOut', 'signedIn', 'refreshing']))
    const everything = JSON.stringify(seen)
    for (const n of [1, 2]) {
      expect(everything).not.toContain(pair(n).access_token)
      expect(everything).not.toContain(pair(n).refresh_token)
    }
  })
})
