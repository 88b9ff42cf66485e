import axios from 'axios'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../env/ambient.js'
import { createForegroundManager, createOnlineManager } from '../env/manager.js'
import { oauth2Refresh, oauth2Revoke } from '../oauth/oauth2.js'
import { createSessionClient } from '../session/client.js'
import type { SessionEvents } from '../session/events.js'
import { memoryDpopKeyStore } from '../test-support/dpop-key.js'
import { startDpopServer, type DpopServer } from '../test-support/dpop-server.js'
import { createFakeTime, settle } from '../test-support/fake-time.js'
import { attachAxios } from '../transport/attach-axios.js'

const waitFor = async (condition: () => boolean) => {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 5))
}

let server: DpopServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function setUp(options: { requireNonce?: boolean; clientSecret?: string; serverClockAheadMs?: number } = {}) {
  const time = createFakeTime({ wall: Date.now() })
  const ahead = options.serverClockAheadMs ?? 0
  server = await startDpopServer({ now: () => time.clock.now() + ahead, ...(options.requireNonce ? { requireNonce: true } : {}) })
  const keys = memoryDpopKeyStore()
  const auth = options.clientSecret ? { clientId: 'client', clientAuthentication: { method: 'client_secret_basic' as const, clientSecret: options.clientSecret } } : {}
  const client = createSessionClient({
    refresh: oauth2Refresh({ tokenEndpoint: `${server.origin}/token`, ...auth }),
    revoke: oauth2Revoke({ revocationEndpoint: `${server.origin}/revoke`, ...auth }),
    dpop: keys.store,
    clock: time.clock,
    timers: time.timers,
    logger: silentLogger,
    foreground: createForegroundManager({ web: false }),
    online: createOnlineManager({ web: false }),
  })
  const s = server
  const signIn = async () => {
    const res = await client.signInFetch(`${s.origin}/sign-in`, { method: 'POST', body: '{"email":"a@b.c"}' })
    expect(res.status).toBe(200)
    await client.signIn(await res.json())
  }
  return { client, keys, time, server: s, signIn }
}

describe('DPoP in the session client (RFC 9449), against a server that checks every proof with jose', () => {
  it('sign-in binds the session to a new key; client.fetch uses the DPoP scheme with a proof carrying ath', async () => {
    const { client, keys, server, signIn } = await setUp()
    await signIn()
    expect(keys.log).toEqual(['generate', 'save'])
    expect(client.getState().status).toBe('signedIn')
    const res = await client.fetch(`${server.origin}/api/items?page=2`, { method: 'POST', body: 'hello' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true, body: 'hello' })
    const [signInProof] = server.proofsAt('/sign-in')
    const [apiProof] = server.proofsAt('/api/items')
    expect(apiProof!.jkt).toBe(signInProof!.jkt)
    expect(apiProof!.payload.htu).toBe(`${server.origin}/api/items`)
    expect(apiProof!.payload.ath).toEqual(expect.any(String))
    expect(server.state.failures).toEqual([])
  })

  it('a 401 refreshes with a proof by the same key and replays with a fresh jti and the new token\'s ath', async () => {
    const { client, server, signIn } = await setUp()
    await signIn()
    server.state.expireAccess = true
    const res = await client.fetch(`${server.origin}/api/me`)
    expect(res.status).toBe(200)
    const [first, replay] = server.proofsAt('/api/me')
    const [refresh] = server.proofsAt('/token')
    expect(refresh!.jkt).toBe(server.proofsAt('/sign-in')[0]!.jkt)
    expect(refresh!.payload).not.toHaveProperty('ath')
    expect(replay!.payload.jti).not.toBe(first!.payload.jti)
    expect(replay!.payload.ath).not.toBe(first!.payload.ath)
    expect(server.state.failures).toEqual([])
  })

  it('the nonce dance: retried once with the server\'s nonce, remembered per origin, renewed when the server rotates it', async () => {
    const { client, server, signIn, time } = await setUp({ requireNonce: true })
    await signIn()
    expect(server.proofsAt('/sign-in').map((p) => p.payload.nonce)).toEqual([undefined, server.nonce()])
    // Remembered: the next request carries it at once.
    expect((await client.fetch(`${server.origin}/api/a`)).status).toBe(200)
    expect(server.proofsAt('/api/a').map((p) => p.payload.nonce)).toEqual([server.nonce()])
    const old = server.nonce()
    server.rotateNonce()
    expect((await client.fetch(`${server.origin}/api/b`)).status).toBe(200)
    const b = server.proofsAt('/api/b')
    expect(b.map((p) => p.payload.nonce)).toEqual([old, server.nonce()])
    expect(b[0]!.payload.jti).not.toBe(b[1]!.payload.jti)
    // A refresh ahead of expiry uses the remembered nonce too.
    server.rotateNonce()
    await time.advance(545_000)
    await waitFor(() => server.state.tokenRequests === 2 && client.getState().status === 'signedIn')
    expect(await client.getAccessToken()).toBe('at-2')
    expect(server.proofsAt('/token').map((p) => p.payload.nonce)).toEqual([b[1]!.payload.nonce, server.nonce()])
    expect(server.state.failures.filter((f) => f !== 'nonce')).toEqual([])
  })

  it('a server that keeps refusing the nonce gets one retry, not a loop', async () => {
    const { client, server, signIn } = await setUp({ requireNonce: true })
    await signIn()
    server.state.rotateEveryRequest = true
    const res = await client.fetch(`${server.origin}/api/c`, { method: 'PUT', body: 'x' })
    expect(res.status).toBe(401)
    expect(res.headers.get('WWW-Authenticate')).toMatch(/use_dpop_nonce/)
    expect(server.proofsAt('/api/c')).toHaveLength(2)
    expect(server.state.tokenRequests).toBe(0)
  })

  it('a device clock far from the server\'s: the refused iat is corrected from the server\'s Date and retried once, then remembered', async () => {
    for (const ahead of [10 * 60_000, -3 * 3600_000]) {
      const { client, server, signIn } = await setUp({ serverClockAheadMs: ahead })
      await signIn()
      const [refused, accepted] = server.proofsAt('/sign-in')
      expect(server.state.failures).toEqual(['iat'])
      expect(accepted!.payload.iat! - refused!.payload.iat!).toBeGreaterThan(ahead / 1000 - 5)
      expect(accepted!.payload.iat! - refused!.payload.iat!).toBeLessThan(ahead / 1000 + 5)
      // Remembered for the origin: the next proofs are right the first time.
      expect((await client.fetch(`${server.origin}/api/skew`)).status).toBe(200)
      expect(server.proofsAt('/api/skew')).toHaveLength(1)
      server.state.expireAccess = true
      expect((await client.fetch(`${server.origin}/api/skew2`)).status).toBe(200)
      expect(server.proofsAt('/token')).toHaveLength(1)
      expect(server.state.failures).toEqual(['iat'])
      await server.close()
    }
  })

  it('a proof refused with nothing new to put in it is not retried, and no refresh is spent on it', async () => {
    const { client, server, signIn } = await setUp()
    await signIn()
    server.state.refuseNextProof = true
    const res = await client.fetch(`${server.origin}/api/d`)
    expect(res.status).toBe(401)
    expect(res.headers.get('WWW-Authenticate')).toMatch(/invalid_dpop_proof/)
    expect(server.proofsAt('/api/d')).toHaveLength(1)
    expect(server.state.tokenRequests).toBe(0)
    // The next request is fine: nothing was spent or broken.
    expect((await client.fetch(`${server.origin}/api/d`)).status).toBe(200)
  })

  it('sign-out deletes the key and revokes with a proof by it', async () => {
    const { client, keys, server, signIn } = await setUp()
    await signIn()
    await client.signOut()
    await client.flushRevocations()
    expect(keys.saved()).toBeNull()
    expect(keys.log).toEqual(['generate', 'save', 'delete'])
    expect(server.state.revoked).toEqual(['rt-1'])
    expect(server.proofsAt('/revoke')[0]!.jkt).toBe(server.proofsAt('/sign-in')[0]!.jkt)
  })

  it('a sign-in answered Bearer keeps no key and sends no proofs', async () => {
    const { client, keys, server } = await setUp()
    await client.signInFetch(`${server.origin}/sign-in`, { method: 'POST' }).then((r) => r.body?.cancel())
    await client.signIn({ access_token: 'at-bearer', token_type: 'Bearer', refresh_token: 'rt-bearer', expires_in: 600 })
    server.state.access.set('at-bearer', '')
    expect(keys.log).toEqual(['generate', 'delete'])
    expect(keys.saved()).toBeNull()
    expect((await client.fetch(`${server.origin}/api/plain`)).status).toBe(200)
    expect(server.proofsAt('/api/plain')).toEqual([])
  })

  it('axios: DPoP scheme and proof, nonce retry and 401 replay', async () => {
    const { client, server, signIn } = await setUp({ requireNonce: true })
    await signIn()
    const instance = axios.create({ baseURL: server.origin })
    attachAxios(client, instance)
    expect((await instance.get('/api/x?y=1')).status).toBe(200)
    server.rotateNonce()
    expect((await instance.post('/api/y', 'body')).data).toEqual({ ok: true, body: 'body' })
    expect(server.proofsAt('/api/y').map((p) => p.payload.htm)).toEqual(['POST', 'POST'])
    server.state.expireAccess = true
    expect((await instance.get('/api/z')).status).toBe(200)
    const z = server.proofsAt('/api/z')
    expect(new Set(z.map((p) => p.payload.jti)).size).toBe(z.length)
    expect(server.proofsAt('/api/x')[0]!.payload.htu).toBe(`${server.origin}/api/x`)
    expect(server.state.failures.filter((f) => f !== 'nonce')).toEqual([])
  })

  it('invalid_client is a configuration error: reported as LK_CLIENT_CONFIG, the session kept, no backoff retries', async () => {
    const { client, server, signIn, time } = await setUp({ clientSecret: 'wrong secret' })
    await signIn()
    server.state.clientSecret = 'right secret'
    const failures: Array<SessionEvents['refreshFailed']> = []
    client.on('refreshFailed', (e) => failures.push(e))
    // The refresh planned ahead of expiry (600 s − 60 s margin) runs and is refused.
    await time.advance(545_000)
    await waitFor(() => failures.length === 1)
    expect(server.state.tokenRequests).toBe(1)
    expect(failures[0]).toMatchObject({ willRetry: false, error: { code: 'LK_CLIENT_CONFIG', error: 'invalid_client' } })
    expect(client.getState()).toMatchObject({ status: 'signedIn', error: { code: 'LK_CLIENT_CONFIG' } })
    // No backoff: time passes and nobody asks again.
    for (let i = 0; i < 10; i++) await time.advance(60_000)
    await settle(10)
    expect(server.state.tokenRequests).toBe(1)
  })
})
