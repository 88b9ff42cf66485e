import { Hono } from 'hono'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { rotateSigningKeys } from './crypto/keys.js'
import { requireAccessToken, verifyAccessToken, type AccessTokenClaims } from './resource.js'
import { createPgliteDir, type TestDatabase } from './test-support/databases.js'
import { getMe, refresh, sidOf, signUp, startTestServer, type Pair } from './test-support/server.js'
import type { RunningServer } from './server.js'

let tdb: TestDatabase
let server: RunningServer

beforeAll(async () => {
  tdb = createPgliteDir()
  server = await startTestServer(tdb)
})
afterAll(async () => {
  await server?.close()
  await tdb?.cleanup()
})

const opts = () => ({ issuer: server.issuer, audience: server.issuer })

test('verifyAccessToken with jwksUrl and with keys: claims iss aud sub sid iat exp jti', async () => {
  const pair = await signUp(server.url)
  const viaUrl = await verifyAccessToken(pair.access_token, { jwksUrl: `${server.url}/.well-known/jwks.json`, ...opts() })
  const keys = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: never[] }
  const viaKeys = await verifyAccessToken(pair.access_token, { keys, ...opts() })
  expect(viaKeys).toEqual(viaUrl)
  expect(Object.keys(viaUrl).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub'])
  expect(viaUrl.exp - viaUrl.iat).toBe(600)
  expect(viaUrl.sid).toBe(sidOf(pair.access_token))
  await expect(verifyAccessToken(pair.access_token, { keys, issuer: server.issuer, audience: 'someone-else' })).rejects.toThrow()
  await expect(verifyAccessToken(pair.access_token, { keys, issuer: 'https://other', audience: server.issuer })).rejects.toThrow()
  await expect(verifyAccessToken(pair.access_token, { keys: { keys: [] }, ...opts() })).rejects.toThrow()
})

test('requireAccessToken: a Hono resource server that never calls the auth server per request', async () => {
  const api = new Hono<{ Variables: { accessToken: AccessTokenClaims } }>()
  api.get('/orders', requireAccessToken({ jwksUrl: `${server.url}/.well-known/jwks.json`, ...opts() }), (c) => c.json({ user: c.get('accessToken').sub }))
  const pair = await signUp(server.url)
  const ok = await api.request('/orders', { headers: { authorization: `Bearer ${pair.access_token}` } })
  expect(ok.status).toBe(200)
  expect(((await ok.json()) as { user: string }).user).toBe(((await (await getMe(server.url, pair.access_token)).json()) as { id: string }).id)
  const none = await api.request('/orders')
  expect(none.status).toBe(401)
  expect(none.headers.get('www-authenticate')).toBe('Bearer')
  const bad = await api.request('/orders', { headers: { authorization: `Bearer ${pair.access_token.slice(0, -4)}AAAA` } })
  expect(bad.status).toBe(401)
  expect(bad.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)
})

test('key rotation: the previous key stays in the JWKS (old tokens verify), a second rotation retires it', async () => {
  const before = await signUp(server.url)
  const oldKid = JSON.parse(Buffer.from(before.access_token.split('.')[0]!, 'base64url').toString()).kid as string
  const first = await rotateSigningKeys(server.db)
  expect(first.previous).toBe(oldKid)
  await server.service.o.keys.load() // other processes pick a rotation up within a minute
  const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
  expect(jwks.keys.map((k) => k.kid).sort()).toEqual([first.kid, oldKid].sort())
  expect((await getMe(server.url, before.access_token)).status).toBe(200)
  await expect(verifyAccessToken(before.access_token, { keys: jwks as never, ...opts() })).resolves.toBeTruthy()
  const after = (await (await refresh(server.url, before.refresh_token)).json()) as Pair
  expect(JSON.parse(Buffer.from(after.access_token.split('.')[0]!, 'base64url').toString()).kid).toBe(first.kid)
  await rotateSigningKeys(server.db)
  await server.service.o.keys.load()
  const jwks2 = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
  expect(jwks2.keys.map((k) => k.kid)).not.toContain(oldKid)
  expect((await getMe(server.url, before.access_token)).status).toBe(401)
  expect((await getMe(server.url, after.access_token)).status).toBe(200)
})
