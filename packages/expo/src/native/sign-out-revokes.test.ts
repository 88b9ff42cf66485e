// Security review, finding 12: sign-out could be local only. `revocationEndpoint` was optional in
// `expoSessionOptions` and `webSessionOptions`; without it nothing reached the server, and on the
// web the httpOnly refresh cookie stayed valid for 30 days after sign-out. Revocation (RFC 7009) is
// now part of the presets: derived from the token endpoint unless given, `false` to opt out.
import { createForegroundManager, createOnlineManager, createSessionClient, silentLogger, type FetchLike } from '@latchkey/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createFakeTime } from '../test-support/fake-time.js'
import { TOKEN_DELIVERY_HEADER, webSessionOptions, type WebSessionOptions } from '../web/web-mode.js'
import type { WebStorageLike } from '../web/web-storage.js'

// expoSessionOptions loads the native modules; here they are the fakes.
const native = vi.hoisted(() => ({ os: 'ios' }))
vi.mock('expo-secure-store', async () => (await import('../test-support/fake-secure-store.js')).createFakeSecureStore().module)
vi.mock('expo-local-authentication', async () => (await import('../test-support/fake-local-authentication.js')).createFakeLocalAuthentication().module)
vi.mock('@react-native-async-storage/async-storage', async () => ({ default: (await import('../test-support/fake-async-storage.js')).createFakeAsyncStorage().storage }))
vi.mock('@react-native-community/netinfo', async () => ({ default: (await import('../test-support/fake-rn.js')).fakeNetInfo() }))
vi.mock('react-native', async () => {
  const { fakeAppState } = await import('../test-support/fake-rn.js')
  return { AppState: fakeAppState('active'), Platform: { get OS() { return native.os } } }
})
const { expoSessionOptions } = await import('../index.js')

function fakeLocalStorage(): WebStorageLike {
  const map = new Map<string, string>()
  return { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, String(v)), removeItem: (k) => void map.delete(k) }
}

/** Every request a client makes, answered like the Latchkey server would. */
function recordingFetch() {
  const requests: Array<{ url: string; init: RequestInit; body: string }> = []
  const fetch: FetchLike = async (input, init = {}) => {
    const url = input instanceof Request ? input.url : String(input)
    requests.push({ url, init, body: String(init.body ?? '') })
    if (url.endsWith('/token')) return Response.json({ access_token: 'at-2', token_type: 'Bearer', expires_in: 600 })
    return new Response(null, { status: 200 })
  }
  return { fetch, requests }
}

const env = () => ({ foreground: createForegroundManager({ web: false }), online: createOnlineManager({ web: false }), logger: silentLogger })

/** Signs in and out with the web preset; returns the requests sign-out made. */
async function webSignOut(options: Omit<WebSessionOptions, 'fetch' | 'localStorage'>) {
  const { fetch, requests } = recordingFetch()
  const time = createFakeTime()
  const client = createSessionClient({ ...webSessionOptions({ ...options, fetch, localStorage: fakeLocalStorage() }), clock: time.clock, timers: time.timers, ...env() })
  await client.signIn({ access_token: 'at-1', token_type: 'Bearer', expires_in: 600 })
  await client.signOut()
  await time.advance(0)
  client.stop()
  return requests
}

afterEach(() => {
  vi.unstubAllGlobals()
  native.os = 'ios'
})

describe('sign-out reaches the server: revocation is part of the presets', () => {
  it('web: without revocationEndpoint, sign-out revokes the refresh cookie at <origin>/oauth/revoke (delivery header, credentials)', async () => {
    const requests = await webSignOut({ tokenEndpoint: 'https://api.example/oauth/token' })
    expect(requests.map((r) => r.url)).toEqual(['https://api.example/oauth/revoke'])
    expect(new Headers(requests[0]!.init.headers).get(TOKEN_DELIVERY_HEADER)).toBe('cookie')
    expect(requests[0]!.init.credentials).toBe('include')
    expect(requests[0]!.body).toContain('token_type_hint=refresh_token')
  })

  it.each([
    ['https://example.com/auth/oauth/token', 'https://example.com/auth/oauth/revoke'], // a server mounted under a path
    ['https://idp.example/token', 'https://idp.example/oauth/revoke'], // another server: its origin
    ['https://api.example/oauth/token?x=1', 'https://api.example/oauth/revoke'],
  ])('web: the revocation endpoint derived from %s is %s', async (tokenEndpoint, expected) => {
    expect((await webSignOut({ tokenEndpoint })).map((r) => r.url)).toEqual([expected])
  })

  it('web: an explicit revocationEndpoint wins; revocationEndpoint: false opts out (a server without RFC 7009)', async () => {
    expect((await webSignOut({ tokenEndpoint: 'https://api.example/oauth/token', revocationEndpoint: 'https://api.example/logout' })).map((r) => r.url)).toEqual([
      'https://api.example/logout',
    ])
    expect(await webSignOut({ tokenEndpoint: 'https://api.example/oauth/token', revocationEndpoint: false })).toEqual([])
  })

  it('native: without revocationEndpoint, sign-out sends the refresh token to <origin>/oauth/revoke', async () => {
    const { fetch, requests } = recordingFetch()
    vi.stubGlobal('fetch', fetch)
    const client = createSessionClient({ ...expoSessionOptions({ tokenEndpoint: 'https://api.example/oauth/token', clientId: 'app' }), ...env() })
    await client.signIn({ access_token: 'at-1', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt-1' })
    await client.signOut()
    await vi.waitFor(() => expect(requests).toHaveLength(1))
    expect(requests[0]!.url).toBe('https://api.example/oauth/revoke')
    expect(Object.fromEntries(new URLSearchParams(requests[0]!.body))).toEqual({ token: 'rt-1', token_type_hint: 'refresh_token', client_id: 'app' })
    client.stop()
  })

  it('native: revocationEndpoint: false keeps sign-out local, as asked', async () => {
    const options = expoSessionOptions({ tokenEndpoint: 'https://api.example/oauth/token', revocationEndpoint: false })
    expect(options.revoke).toBeUndefined()
  })

  it('web preset through expoSessionOptions: a relative token endpoint gets a relative revocation endpoint', async () => {
    native.os = 'web'
    const { fetch, requests } = recordingFetch()
    vi.stubGlobal('fetch', fetch)
    vi.stubGlobal('localStorage', fakeLocalStorage())
    const options = expoSessionOptions({ tokenEndpoint: '/oauth/token', web: 'insecureLocalStorage' })
    expect(options.revoke).toBeDefined()
    await options.revoke!('rt-1', { signal: new AbortController().signal })
    expect(requests.map((r) => r.url)).toEqual(['/oauth/revoke'])
  })
})
