import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../env/ambient.js'
import { createForegroundManager } from '../env/manager.js'
import { oauth2Refresh } from '../oauth/oauth2.js'
import { createSessionClient } from '../session/client.js'
import { memoryStorage } from '../storage/memory.js'
import { startTokenServer, type TokenServer } from '../test-support/token-server.js'

const N = 1000

describe('guarantee 1: one refresh for 1000 concurrent needs (real HTTP on loopback)', () => {
  let server: TokenServer
  beforeEach(async () => {
    server = await startTokenServer()
  })
  afterEach(async () => {
    await server.close()
  })

  const makeClient = () =>
    createSessionClient({
      storage: memoryStorage(),
      refresh: oauth2Refresh({ tokenEndpoint: server.tokenEndpoint }),
      logger: silentLogger,
      // Keep the proactive timer out of the way; this test is about needs.
      foreground: createForegroundManager({ web: false }),
    })

  it(`${N} concurrent client.fetch with a server-expired token: one refresh, each replayed once, all succeed`, async () => {
    const client = makeClient()
    await client.signIn(server.initial(600))
    server.expireAccessTokens() // the server no longer honours a0; the client cannot know
    const responses = await Promise.all(
      Array.from({ length: N }, (_, i) => client.fetch(`${server.origin}/api/item/${i}`)),
    )
    expect(responses.every((r) => r.status === 200)).toBe(true)
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<{ token: string }>))
    expect(new Set(bodies.map((b) => b.token))).toEqual(new Set(['a1']))
    expect(server.state.refreshRequests).toBe(1)
    expect(server.state.unauthorized).toBe(N) // each request was rejected once...
    expect(server.state.apiRequests).toBe(2 * N) // ...and replayed exactly once
    client.stop()
  })

  it(`${N} concurrent getAccessToken with an expired token: one refresh, every caller gets its result`, async () => {
    const client = makeClient()
    await client.signIn(server.initial(0)) // expires_in 0: expired on arrival
    const tokens = await Promise.all(Array.from({ length: N }, () => client.getAccessToken()))
    expect(new Set(tokens)).toEqual(new Set(['a1']))
    expect(server.state.refreshRequests).toBe(1)
    // After it settled, the next need starts a new refresh (the slot was released).
    server.expireAccessTokens()
    const res = await client.fetch(`${server.origin}/api/again`)
    expect(res.status).toBe(200)
    expect(server.state.refreshRequests).toBe(2)
    client.stop()
  })
})
