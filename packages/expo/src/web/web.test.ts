import { createForegroundManager, createOnlineManager, createSessionClient, silentLogger, type FetchLike } from '@latchkey/core'
import { describeStorageContract } from '@latchkey/core/testing'
import { describe, expect, it } from 'vitest'
import { createFakeTime } from '../test-support/fake-time.js'
import { TOKEN_DELIVERY_HEADER, cookieDelivery, webSessionOptions } from './web-mode.js'
import { containsSecret, insecureLocalStorage, webStorage, type WebStorageLike } from './web-storage.js'

function fakeLocalStorage(): WebStorageLike & { dump(): string } {
  const map = new Map<string, string>()
  return {
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, String(v)),
    removeItem: (k) => void map.delete(k),
    dump: () => JSON.stringify([...map]),
  }
}

describeStorageContract('insecureLocalStorage', () => insecureLocalStorage({ localStorage: fakeLocalStorage() }))

describe('webStorage keeps no secret', () => {
  it('refuses values that carry a token, accepts the cookie-mode record', async () => {
    const storage = webStorage({ localStorage: fakeLocalStorage() })
    await expect(storage.setItem('s', JSON.stringify({ v: 1, accessToken: 'at' }))).rejects.toThrow(TypeError)
    await expect(storage.setItem('s', JSON.stringify({ v: 1, items: [{ token: 'rt', at: 1 }] }))).rejects.toThrow(TypeError)
    await storage.setItem('s', JSON.stringify({ v: 1, id: 'x', tokenType: 'Bearer', expiresIn: 600, receivedAt: 1 }))
    await storage.setItem('r', JSON.stringify({ v: 1, items: [{ token: null, at: 1 }] }))
    expect(await storage.getItem('s')).toContain('"id":"x"')
    expect(containsSecret('not json')).toBe(false)
  })

  it("a client left on persistTokens 'all' cannot sign in with it (fails loudly, stores nothing)", async () => {
    const local = fakeLocalStorage()
    const client = createSessionClient({ storage: webStorage({ localStorage: local }), refresh: async () => ({ access_token: 'x' }), logger: silentLogger })
    await expect(client.signIn({ access_token: 'at-1', refresh_token: 'rt-1', expires_in: 600 })).rejects.toBeTruthy()
    expect(local.dump()).not.toContain('at-1')
    client.stop()
  })
})

describe('web cookie mode with the Latchkey server', () => {
  it('cookieDelivery marks sign-in/sign-up/sign-out requests', () => {
    const init = cookieDelivery({ method: 'POST', headers: { 'Content-Type': 'application/json' } })
    expect(init.credentials).toBe('include')
    const headers = new Headers(init.headers)
    expect(headers.get(TOKEN_DELIVERY_HEADER)).toBe('cookie')
    expect(headers.get('Content-Type')).toBe('application/json')
  })

  it('refresh and revoke send the delivery header with credentials, no token in the body; nothing secret at rest', async () => {
    const requests: Array<{ url: string; init: RequestInit; body: string }> = []
    let n = 1
    const fetch: FetchLike = async (input, init = {}) => {
      const url = String(input)
      requests.push({ url, init, body: String(init.body ?? '') })
      if (url.endsWith('/oauth/token')) return Response.json({ access_token: `at-${++n}`, token_type: 'Bearer', expires_in: 600 })
      return new Response(null, { status: 200 })
    }
    const local = fakeLocalStorage()
    const time = createFakeTime()
    const client = createSessionClient({
      ...webSessionOptions({ tokenEndpoint: 'https://api.example/oauth/token', revocationEndpoint: 'https://api.example/oauth/revoke', fetch, localStorage: local }),
      clock: time.clock, timers: time.timers, logger: silentLogger,
      foreground: createForegroundManager({ web: false }), online: createOnlineManager({ web: false }),
    })
    await client.start()
    await client.signIn({ access_token: 'at-1', token_type: 'Bearer', expires_in: 600 })
    expect(local.dump()).not.toContain('at-1')
    await time.advance(600_000)
    expect(await client.getAccessToken()).toBe('at-2')
    expect(local.dump()).not.toMatch(/at-\d/)
    await client.signOut()
    await time.advance(0)
    const [refresh, revoke] = requests
    for (const r of [refresh!, revoke!]) {
      expect(new Headers(r.init.headers).get(TOKEN_DELIVERY_HEADER)).toBe('cookie')
      expect(r.init.credentials).toBe('include')
      expect(r.body).not.toMatch(/refresh_token=|[?&]token=/)
    }
    expect(refresh!.url).toBe('https://api.example/oauth/token')
    expect(revoke!.url).toBe('https://api.example/oauth/revoke')
    client.stop()
  })

  it('without localStorage (static rendering) it falls back to memory', async () => {
    const storage = webStorage()
    await storage.setItem('k', '{"v":1}')
    expect(await storage.getItem('k')).toBe('{"v":1}')
  })
})
