// Our core against a standard RFC 9449 server: node-oidc-provider with DPoP (nonces required),
// refresh-token rotation, resource indicators (RFC 8707) and client_secret_basic/post. No Latchkey
// server code is involved: what passes here is what any compliant provider gets.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import Provider from 'oidc-provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createSessionClient, createForegroundManager, createOnlineManager, oauth2Refresh, oauth2Revoke, silentLogger,
  type ClientAuthentication, type DpopKey, type FetchLike,
} from '@latchkey/core'
import { memoryDpopKeyStore } from '../packages/core/src/test-support/dpop-key.js'

const API = 'https://api.example.com'
let server: Server
let issuer: string
let provider: Provider
/** Every request our client made: path, headers of interest, form. */
const seen: Array<{ path: string; authorization: string | null; dpop: string | null; form: URLSearchParams | null; status: number; nonceAsked: boolean }> = []

beforeAll(async () => {
  server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  provider = new Provider(issuer, {
    clients: [
      { client_id: 'basic', client_secret: 'secret with spaces & symbols:/', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'client_secret_basic' },
      { client_id: 'post', client_secret: 'post-secret', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'client_secret_post' },
    ],
    features: {
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'api:read', accessTokenFormat: 'opaque', audience: API }),
      },
    },
    rotateRefreshToken: true,
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub, email: `${sub}@example.com` }) }),
    ttl: { AccessToken: 600, RefreshToken: 86_400, IdToken: 600 },
  })
  provider.on('server_error', () => undefined)
  const callback = provider.callback()
  server.on('request', callback)
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

/** A refresh token as the provider's own authorization-code flow would leave it, bound to `key` (RFC 9449 §5). */
async function grantFor(clientId: string, key: DpopKey & { thumbprint: string }, resource?: string) {
  const client = await provider.Client.find(clientId)
  const grant = new provider.Grant({ accountId: 'alice', clientId })
  grant.addOIDCScope('openid offline_access')
  if (resource) grant.addResourceScope(resource, 'api:read')
  const grantId = await grant.save()
  const refreshToken = new provider.RefreshToken({
    accountId: 'alice', client: client!, grantId, gty: 'authorization_code', scope: resource ? 'openid offline_access api:read' : 'openid offline_access',
    jkt: key.thumbprint, ...(resource ? { resource } : {}),
  })
  return refreshToken.save()
}

const recordingFetch: FetchLike = async (input, init) => {
  const request = new Request(input, init)
  const form = request.method === 'POST' ? new URLSearchParams(await request.clone().text()) : null
  const response = await fetch(request)
  const body = response.status >= 400 ? await response.clone().text() : ''
  seen.push({
    path: new URL(request.url).pathname, authorization: request.headers.get('Authorization'), dpop: request.headers.get('DPoP'), form,
    status: response.status, nonceAsked: /use_dpop_nonce/.test(body + (response.headers.get('WWW-Authenticate') ?? '')),
  })
  return response
}

async function clientFor(clientId: string, auth: ClientAuthentication, resource?: string) {
  const keys = memoryDpopKeyStore()
  const key = await keys.store.generate()
  await keys.store.save(key)
  const { checkedKey } = await import('../packages/core/src/dpop/key.js')
  const refreshToken = await grantFor(clientId, checkedKey(key), resource)
  const options = { clientId, clientAuthentication: auth, fetch: recordingFetch, ...(resource ? { resource } : {}) }
  const client = createSessionClient({
    refresh: oauth2Refresh({ tokenEndpoint: `${issuer}/token`, ...options }),
    revoke: oauth2Revoke({ revocationEndpoint: `${issuer}/token/revocation`, ...options }),
    dpop: keys.store,
    fetch: recordingFetch,
    logger: silentLogger,
    foreground: createForegroundManager({ web: false }),
    online: createOnlineManager({ web: false }),
  })
  // As if the sign-in had just answered: a bound pair whose access token is already spent.
  await client.signIn({ access_token: 'spent', token_type: 'DPoP', expires_in: 0, refresh_token: refreshToken })
  return { client, keys, thumbprint: checkedKey(key).thumbprint, refreshToken }
}

describe('@latchkey/core with DPoP against node-oidc-provider 9 (RFC 9449, nonces required)', () => {
  it('client_secret_basic: refresh with a proof (nonce dance), rotation, id_token claims, userinfo over the DPoP scheme, revocation', async () => {
    seen.length = 0
    const { client, thumbprint, refreshToken } = await clientFor('basic', { method: 'client_secret_basic', clientSecret: 'secret with spaces & symbols:/' })
    const access = await client.getAccessToken()
    expect(access).not.toBe('spent')
    const refreshes = seen.filter((s) => s.path === '/token')
    // First proof without a nonce is refused with use_dpop_nonce; the one retry carries it.
    expect(refreshes.map((r) => [r.status, r.nonceAsked])).toEqual([[400, true], [200, false]])
    expect(refreshes[1]!.authorization).toMatch(/^Basic /)
    expect(refreshes[1]!.form!.has('client_secret')).toBe(false)
    // The access token is bound to our key, and rotation happened.
    const stored = await provider.AccessToken.find(access!)
    expect(stored!.jkt).toBe(thumbprint)
    expect(await provider.RefreshToken.find(refreshToken)).toMatchObject({ consumed: expect.anything() })
    // The access token is opaque: the claims come from the id_token.
    expect(client.getState().claims).toMatchObject({ sub: 'alice', iss: issuer })

    const me = await client.fetch(`${issuer}/me`)
    expect(me.status).toBe(200)
    expect(await me.json()).toEqual({ sub: 'alice' })
    const userinfo = seen.filter((s) => s.path === '/me')
    expect(userinfo.at(-1)!.authorization).toMatch(/^DPoP /)
    // The nonce learned at the token endpoint is the issuer's: remembered for its other endpoints.
    expect(userinfo.every((u) => u.status === 200 || u.nonceAsked)).toBe(true)

    await client.signOut()
    await client.flushRevocations()
    const revocation = seen.filter((s) => s.path === '/token/revocation')
    expect(revocation.at(-1)!.status).toBe(200)
    const rotated = revocation.at(-1)!.form!.get('token')!
    expect(await provider.RefreshToken.find(rotated)).toBeUndefined()
  })

  it('client_secret_post; a thief replaying the bound refresh token with its own key gets nothing, and the device still refreshes', async () => {
    seen.length = 0
    const auth = { method: 'client_secret_post', clientSecret: 'post-secret' } as const
    const { client, refreshToken } = await clientFor('post', auth)
    const thiefKeys = memoryDpopKeyStore()
    await thiefKeys.store.save(await thiefKeys.store.generate())
    const thief = createSessionClient({
      refresh: oauth2Refresh({ tokenEndpoint: `${issuer}/token`, clientId: 'post', clientAuthentication: auth, fetch: recordingFetch }),
      dpop: thiefKeys.store, fetch: recordingFetch, logger: silentLogger,
      foreground: createForegroundManager({ web: false }), online: createOnlineManager({ web: false }),
    })
    await thief.signIn({ access_token: 'spent', token_type: 'DPoP', expires_in: 0, refresh_token: refreshToken })
    await expect(thief.getAccessToken()).rejects.toMatchObject({ code: 'LK_REFRESH_REJECTED' })
    expect(seen.filter((s) => s.path === '/token').at(-1)).toMatchObject({ status: 400 })
    expect(await client.getAccessToken()).not.toBe('spent')
    const last = seen.filter((s) => s.path === '/token').at(-1)!
    expect(last.status).toBe(200)
    expect(last.form!.get('client_secret')).toBe('post-secret')
    expect(last.authorization).toBeNull()
  })

  it('resource indicators (RFC 8707): the access token is for the API and bound to the key', async () => {
    seen.length = 0
    const { client, thumbprint } = await clientFor('post', { method: 'client_secret_post', clientSecret: 'post-secret' }, API)
    const access = await client.getAccessToken()
    const last = seen.filter((s) => s.path === '/token').at(-1)!
    expect(last.status).toBe(200)
    expect(last.form!.getAll('resource')).toEqual([API])
    const stored = await provider.AccessToken.find(access!)
    expect(stored!.aud).toBe(API)
    expect(stored!.jkt).toBe(thumbprint)
    expect(stored!.scope).toBe('api:read')
  })

  it('a wrong client secret is LK_CLIENT_CONFIG, not a sign-out and not retried', async () => {
    seen.length = 0
    const { client } = await clientFor('basic', { method: 'client_secret_basic', clientSecret: 'wrong' })
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'LK_CLIENT_CONFIG', error: 'invalid_client' })
    expect(client.getState().status).toBe('signedIn')
  })
})
