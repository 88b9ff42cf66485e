import axios from 'axios'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../env/ambient.js'
import { createForegroundManager } from '../env/manager.js'
import { oauth2Refresh } from '../oauth/oauth2.js'
import { createSessionClient } from '../session/client.js'
import { startTokenServer, type TokenServer } from '../test-support/token-server.js'
import { attachAxios } from './attach-axios.js'

describe('attachAxios', () => {
  let server: TokenServer
  beforeEach(async () => {
    server = await startTokenServer()
  })
  afterEach(async () => {
    await server.close()
  })

  it('adds the token, and 100 concurrent 401s cause one refresh and one replay each (body intact)', async () => {
    const client = createSessionClient({
      refresh: oauth2Refresh({ tokenEndpoint: server.tokenEndpoint }),
      logger: silentLogger,
      foreground: createForegroundManager({ web: false }),
    })
    await client.signIn(server.initial(600))
    const http = axios.create({ baseURL: server.origin })
    const detach = attachAxios(client, http)
    server.expireAccessTokens()
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => http.post('/api/items', { i })))
    expect(results.every((r) => r.status === 200 && r.data.token === 'a1')).toBe(true)
    expect(results.map((r) => JSON.parse(Buffer.from(r.data.body, 'base64').toString()).i)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(server.state.refreshRequests).toBe(1)
    expect(server.state.apiRequests).toBe(200)

    // A second 401 is returned to the caller.
    const before = server.state.apiRequests
    await expect(http.get('/api/deny/me')).rejects.toMatchObject({ response: { status: 401 } })
    expect(server.state.apiRequests - before).toBe(2)
    expect(server.state.refreshRequests).toBe(2)
    detach()
    client.stop()
  })
})
