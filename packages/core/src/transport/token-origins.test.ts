// Security review, finding 13: `client.fetch` and `attachAxios` sent the access token to any
// origin (a test sent `Bearer …` to a third-party host). RFC 6750 §5.3: a bearer token goes only
// to the origins it is for (`tokenOrigins`, by default the token endpoint's origin); any other
// request goes out as the caller built it, without refresh or replay. Two real loopback servers:
// the API with its token endpoint, and a third party on another port.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import axios from 'axios'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../env/ambient.js'
import { createForegroundManager } from '../env/manager.js'
import { oauth2Refresh } from '../oauth/oauth2.js'
import { createSessionClient } from '../session/client.js'
import type { SessionClientOptions } from '../session/options.js'
import { startTokenServer, type TokenServer } from '../test-support/token-server.js'
import { attachAxios } from './attach-axios.js'

/** Records the headers of every request; answers `status`. */
async function startThirdParty() {
  const seen: IncomingHttpHeaders[] = []
  const state = { status: 200 }
  const server: Server = createServer((req, res) => {
    seen.push(req.headers)
    req.resume()
    req.on('end', () => {
      res.writeHead(state.status, { 'Content-Type': 'application/json' })
      res.end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    state,
    close: () => {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe('the access token goes only to its origins (RFC 6750 §5.3)', () => {
  let api: TokenServer
  let third: Awaited<ReturnType<typeof startThirdParty>>
  const clients: Array<{ stop(): void }> = []
  beforeEach(async () => {
    api = await startTokenServer()
    third = await startThirdParty()
  })
  afterEach(async () => {
    for (const c of clients.splice(0)) c.stop()
    await api.close()
    await third.close()
  })

  const makeClient = (options: Partial<SessionClientOptions> = {}) => {
    const client = createSessionClient({
      refresh: oauth2Refresh({ tokenEndpoint: api.tokenEndpoint }),
      logger: silentLogger,
      foreground: createForegroundManager({ web: false }),
      ...options,
    })
    clients.push(client)
    return client
  }

  it('client.fetch to a third-party origin carries no Authorization header, and its 401 is neither refreshed nor replayed', async () => {
    const client = makeClient()
    await client.signIn(api.initial(600))
    expect((await client.fetch(`${third.origin}/collect`, { method: 'POST', body: 'x' })).status).toBe(200)
    third.state.status = 401
    expect((await client.fetch(new Request(`${third.origin}/collect`))).status).toBe(401)
    expect(third.seen).toHaveLength(2)
    expect(third.seen.map((h) => h.authorization)).toEqual([undefined, undefined])
    expect(api.state.refreshRequests).toBe(0)
    // The caller's own credentials for that party go out untouched.
    third.state.status = 200
    await client.fetch(`${third.origin}/collect`, { headers: { Authorization: 'Basic dGhpcmQ6cGFydHk=' } })
    expect(third.seen[2]!.authorization).toBe('Basic dGhpcmQ6cGFydHk=')
  })

  it("client.fetch to the token endpoint's origin still carries the token: 401 → one refresh → replay", async () => {
    const client = makeClient()
    await client.signIn(api.initial(600))
    api.expireAccessTokens()
    const res = await client.fetch(`${api.origin}/api/me`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { token: string }).token).toBe('a1')
    expect(api.state.unauthorized).toBe(1)
    expect(api.state.refreshRequests).toBe(1)
  })

  it("tokenOrigins names the API's origins; the token endpoint's origin is then not implied", async () => {
    const client = makeClient({ tokenOrigins: [`${third.origin}/`] })
    await client.signIn(api.initial(600))
    await client.fetch(`${third.origin}/api/data`)
    expect(third.seen[0]!.authorization).toBe('Bearer a0')
    const res = await client.fetch(`${api.origin}/api/me`)
    expect(res.status).toBe(401)
    expect(api.state.refreshRequests).toBe(0)
  })

  it('attachAxios: no Authorization header to a third-party origin, no refresh or replay of its 401; same origin still refreshes and replays', async () => {
    const client = makeClient()
    await client.signIn(api.initial(600))
    const http = axios.create({ baseURL: api.origin })
    const detach = attachAxios(client, http)
    await http.get(`${third.origin}/collect`) // absolute: baseURL does not apply
    third.state.status = 401
    await expect(http.post(`${third.origin}/collect`, { a: 1 })).rejects.toMatchObject({ response: { status: 401 } })
    expect(third.seen.map((h) => h.authorization)).toEqual([undefined, undefined])
    expect(api.state.refreshRequests).toBe(0)

    api.expireAccessTokens()
    const res = await http.post('/api/items', { i: 1 })
    expect(res.data.token).toBe('a1')
    expect(api.state.refreshRequests).toBe(1)
    expect(api.state.unauthorized).toBe(1)

    // allowAbsoluteUrls: false (axios ≥ 1.8) joins the URL to baseURL: the API's origin.
    const joined = await http.get('/api/me', { allowAbsoluteUrls: false })
    expect(joined.data.token).toBe('a1')
    detach()
  })

  it('a custom refresh function without tokenOrigins: client.fetch and attachAxios reject with a TypeError and send nothing', async () => {
    const client = makeClient({ refresh: async () => api.initial(600) })
    await client.signIn(api.initial(600))
    await expect(client.fetch(`${api.origin}/api/me`)).rejects.toThrow(/tokenOrigins/)
    const http = axios.create({ baseURL: api.origin })
    attachAxios(client, http)
    await expect(http.get('/api/me')).rejects.toThrow(/tokenOrigins/)
    expect(api.state.apiRequests).toBe(0)
    // getAccessToken is not about where the token goes.
    expect(await client.getAccessToken()).toBe('a0')
  })
})

describe('tokenOrigins: which URLs share an origin', () => {
  /** A client whose fetch records the Authorization header each URL was sent with. */
  const recording = (options: Partial<SessionClientOptions>) => {
    const sent = new Map<string, string | null>()
    const fetch = async (input: Request | string | URL) => {
      const request = input as Request
      sent.set(request.url, request.headers.get('authorization'))
      return new Response('{}')
    }
    const client = createSessionClient({ refresh: async () => ({ access_token: 'x' }), fetch, logger: silentLogger, foreground: createForegroundManager({ web: false }), ...options })
    return { client, sent }
  }

  it.each([
    ['https://api.example.com/me', true],
    ['HTTPS://API.EXAMPLE.COM/me', true],
    ['https://api.example.com:443/me', true],
    ['http://127.0.0.1:8787/me', true],
    ['http://api.example.com/me', false], // http is another origin (and a downgrade)
    ['https://api.example.com:8443/me', false],
    ['https://api.example.com.evil.example/me', false],
    ['https://api.example.com./me', false], // (userinfo tricks never get this far: Request refuses URLs with credentials)
    ['https://evil.example/https://api.example.com/', false],
    ['https://evil.example/?https://api.example.com', false],
    ['http://127.0.0.1:8788/me', false],
    ['http://localhost:8787/me', false],
  ])('%s gets the token: %s', async (url, expected) => {
    const { client, sent } = recording({ tokenOrigins: ['https://api.example.com', 'http://127.0.0.1:8787'] })
    await client.signIn({ access_token: 'at-1', token_type: 'Bearer', expires_in: 600 })
    await client.fetch(url)
    expect([...sent.values()]).toEqual([expected ? 'Bearer at-1' : null])
    client.stop()
  })

  it("the default is the token endpoint's origin", async () => {
    const { client, sent } = recording({ refresh: oauth2Refresh({ tokenEndpoint: 'https://auth.example.com/oauth/token' }) })
    await client.signIn({ access_token: 'at-1', token_type: 'Bearer', expires_in: 600 })
    await client.fetch('https://auth.example.com/me')
    await client.fetch('https://api.example.com/me')
    expect(Object.fromEntries(sent)).toEqual({ 'https://auth.example.com/me': 'Bearer at-1', 'https://api.example.com/me': null })
    client.stop()
  })

  it.each([['https://api.example.com/v1'], ['api.example.com'], ['ftp://api.example.com'], ['https://api.example.com/?a=1'], ['https://user@api.example.com']])(
    'refuses %s: entries are origins',
    (entry) => {
      expect(() => createSessionClient({ refresh: async () => ({ access_token: 'x' }), tokenOrigins: [entry], logger: silentLogger })).toThrow(TypeError)
    },
  )
})
