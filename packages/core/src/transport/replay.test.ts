import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../env/ambient.js'
import { createForegroundManager } from '../env/manager.js'
import { oauth2Refresh } from '../oauth/oauth2.js'
import { createSessionClient } from '../session/client.js'
import { startTokenServer, type TokenServer } from '../test-support/token-server.js'
import { pair } from '../test-support/client.js'

describe('guarantee 4: a 401 is replayed once, with the body intact', () => {
  let server: TokenServer
  beforeEach(async () => {
    server = await startTokenServer()
  })
  afterEach(async () => {
    await server.close()
  })

  const makeClient = (fetch?: typeof globalThis.fetch) =>
    createSessionClient({
      refresh: oauth2Refresh({ tokenEndpoint: server.tokenEndpoint }),
      logger: silentLogger,
      foreground: createForegroundManager({ web: false }),
      ...(fetch ? { fetch } : {}),
    })

  const decode = async (res: Response) => {
    const json = (await res.json()) as { body: string; contentType: string | null; method: string; token: string }
    return { ...json, text: Buffer.from(json.body, 'base64').toString('utf8'), bytes: Buffer.from(json.body, 'base64') }
  }

  it('replays with the current token, without a refresh, when the token changed in flight', async () => {
    // The first request is held at the transport until the pair has been rotated by someone else.
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let first = true
    let reached!: () => void
    const atTransport = new Promise<void>((r) => (reached = r))
    const client = makeClient(async (input, init) => {
      if (first) {
        first = false
        reached()
        await gate
      }
      return globalThis.fetch(input, init)
    })
    await client.signIn(server.initial(600))
    const pending = client.fetch(`${server.origin}/api/me`)
    await atTransport // the request holds the old token (an event, not a delay: finding 17)
    server.expireAccessTokens()
    const next = server.rotate()
    await client.signIn(next) // e.g. adopted from another context
    release()
    const res = await pending
    expect(res.status).toBe(200)
    expect(server.state.unauthorized).toBe(1)
    expect((await decode(res)).token).toBe(next.access_token)
    expect(server.state.refreshRequests).toBe(0)
  })

  it('a second 401 is returned to the caller, not looped', async () => {
    // The refresh succeeds, but the resource server still refuses the new token.
    const refuse = async (input: Request | string | URL, init?: RequestInit) => {
      const res = await globalThis.fetch(input, init)
      server.expireAccessTokens()
      return res
    }
    const c2 = createSessionClient({
      refresh: oauth2Refresh({ tokenEndpoint: server.tokenEndpoint, fetch: refuse }),
      logger: silentLogger,
      foreground: createForegroundManager({ web: false }),
    })
    await c2.signIn({ ...pair(0), access_token: 'a-none', refresh_token: server.current().refreshToken })
    const before = server.state.apiRequests
    const res = await c2.fetch(`${server.origin}/api/me`)
    expect(res.status).toBe(401)
    expect(server.state.apiRequests - before).toBe(2)
    expect(server.state.refreshRequests).toBe(1)
    c2.stop()
  })

  const bodies: Array<[string, () => RequestInit, (d: Awaited<ReturnType<typeof decode>>) => void]> = [
    ['string', () => ({ method: 'POST', body: 'plain text ✓ ünïcode', headers: { 'Content-Type': 'text/plain; charset=utf-8' } }),
      (d) => expect(d.text).toBe('plain text ✓ ünïcode')],
    ['JSON', () => ({ method: 'PUT', body: JSON.stringify({ a: 1, list: [1, 2, 3] }), headers: { 'Content-Type': 'application/json' } }),
      (d) => { expect(JSON.parse(d.text)).toEqual({ a: 1, list: [1, 2, 3] }); expect(d.contentType).toBe('application/json') }],
    ['URLSearchParams', () => ({ method: 'POST', body: new URLSearchParams({ q: 'a b&c', n: '1' }) }),
      (d) => { expect(d.text).toBe('q=a+b%26c&n=1'); expect(d.contentType).toContain('application/x-www-form-urlencoded') }],
    ['FormData', () => { const f = new FormData(); f.set('name', 'Zoë'); f.set('file', new Blob(['file-content']), 'f.txt'); return { method: 'POST', body: f } },
      (d) => { expect(d.contentType).toContain('multipart/form-data'); expect(d.text).toContain('Zoë'); expect(d.text).toContain('file-content') }],
    ['Blob', () => ({ method: 'POST', body: new Blob([new Uint8Array([0, 1, 2, 254, 255])]) }),
      (d) => expect([...d.bytes]).toEqual([0, 1, 2, 254, 255])],
  ]

  it.each(bodies)('replays a %s body intact after refresh', async (_label, init, check) => {
    const client = makeClient()
    await client.signIn(server.initial(600))
    server.expireAccessTokens()
    const res = await client.fetch(`${server.origin}/api/upload`, init())
    expect(res.status).toBe(200)
    expect(server.state.unauthorized).toBe(1)
    expect(server.state.refreshRequests).toBe(1)
    check(await decode(res))
    client.stop()
  })

  it('replays a Request object with a body intact', async () => {
    const client = makeClient()
    await client.signIn(server.initial(600))
    server.expireAccessTokens()
    const req = new Request(`${server.origin}/api/upload`, { method: 'POST', body: 'from a Request' })
    const res = await client.fetch(req)
    expect((await decode(res)).text).toBe('from a Request')
    client.stop()
  })

  it.each([
    ['a Request', (url: string) => [new Request(url, { headers: { 'X-Trace': 't1' } })] as const],
    ['a URL and init', (url: string) => [url, { headers: { 'X-Trace': 't1' } }] as const],
  ])('replays a body-less GET given as %s with the caller\'s headers and leaves the caller\'s objects untouched', async (_label, args) => {
    const sent: Request[] = []
    const client = makeClient(async (input, init) => {
      sent.push(new Request(input, init))
      return globalThis.fetch(input, init)
    })
    await client.signIn(server.initial(600))
    server.expireAccessTokens()
    const callerArgs = args(`${server.origin}/api/me`)
    const res = await (client.fetch as (...a: unknown[]) => Promise<Response>)(...callerArgs)
    expect(res.status).toBe(200)
    expect(server.state.unauthorized).toBe(1)
    expect(server.state.refreshRequests).toBe(1)
    expect(sent.map((r) => r.headers.get('x-trace'))).toEqual(['t1', 't1'])
    expect(sent.map((r) => r.method)).toEqual(['GET', 'GET'])
    const [a, b] = sent.map((r) => r.headers.get('authorization'))
    expect(a).toMatch(/^Bearer /)
    expect(b).toBe(`Bearer ${(await decode(res)).token}`)
    expect(b).not.toBe(a)
    const callerHeaders = callerArgs[0] instanceof Request ? callerArgs[0].headers : new Headers((callerArgs[1] as RequestInit).headers)
    expect(callerHeaders.get('authorization')).toBeNull()
    client.stop()
  })

  it('client.fetch while signed out rejects with LK_SIGNED_OUT and sends nothing', async () => {
    const client = makeClient()
    await client.start()
    await expect(client.fetch(`${server.origin}/api/me`)).rejects.toMatchObject({ code: 'LK_SIGNED_OUT' })
    expect(server.state.apiRequests).toBe(0)
  })
})
