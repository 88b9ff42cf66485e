import { Hono } from 'hono'
import { expect, test } from 'vitest'
import { rotateSigningKeys } from './crypto/keys.js'
import { InvalidAccessTokenError } from './crypto/jwt.js'
import { requireAccessToken, verifyAccessToken, type AccessTokenClaims } from './resource.js'
import { pgliteBackend } from './test-support/databases.js'
import { getMe, refresh, sidOf, signUp, serverForSuite, type Pair } from './test-support/server.js'

const API = 'https://orders.example.com'
const suite = serverForSuite(pgliteBackend, { resources: [API] })

// A resource server's options: its own audience (finding 9), never the issuer.
const opts = () => ({ issuer: suite.server.issuer, audience: API })
const signUpForApi = () => signUp(suite.server.url, undefined, undefined, API)

test('verifyAccessToken with jwksUrl and with keys: claims iss aud sub sid iat exp jti roles email_verified', async () => {
  const pair = await signUpForApi()
  const viaUrl = await verifyAccessToken(pair.access_token, { jwksUrl: `${suite.server.url}/.well-known/jwks.json`, ...opts() })
  const keys = (await (await fetch(`${suite.server.url}/.well-known/jwks.json`)).json()) as { keys: never[] }
  const viaKeys = await verifyAccessToken(pair.access_token, { keys, ...opts() })
  expect(viaKeys).toEqual(viaUrl)
  expect(Object.keys(viaUrl).sort()).toEqual(['aud', 'email_verified', 'exp', 'iat', 'iss', 'jti', 'roles', 'sid', 'sub'])
  expect(viaUrl.roles).toEqual([])
  expect(viaUrl.exp - viaUrl.iat).toBe(600)
  expect(viaUrl.sid).toBe(sidOf(pair.access_token))
  expect(viaUrl.aud).toBe(API)
  await expect(verifyAccessToken(pair.access_token, { keys, issuer: suite.server.issuer, audience: 'https://someone-else.example' })).rejects.toThrow(InvalidAccessTokenError)
  await expect(verifyAccessToken(pair.access_token, { keys, issuer: 'https://other', audience: API })).rejects.toThrow(InvalidAccessTokenError)
  await expect(verifyAccessToken(pair.access_token, { keys: { keys: [] }, ...opts() })).rejects.toThrow(InvalidAccessTokenError)
})

test('requireAccessToken: a Hono resource server that never calls the auth server per request', async () => {
  const api = new Hono<{ Variables: { accessToken: AccessTokenClaims } }>()
  api.get('/orders', requireAccessToken({ jwksUrl: `${suite.server.url}/.well-known/jwks.json`, ...opts() }), (c) => c.json({ user: c.get('accessToken').sub }))
  const pair = await signUpForApi()
  const ok = await api.request('/orders', { headers: { authorization: `Bearer ${pair.access_token}` } })
  expect(ok.status).toBe(200)
  const own = (await (await refresh(suite.server.url, pair.refresh_token)).json()) as Pair
  expect(((await ok.json()) as { user: string }).user).toBe(((await (await getMe(suite.server.url, own.access_token)).json()) as { id: string }).id)
  const none = await api.request('/orders')
  expect(none.status).toBe(401)
  expect(none.headers.get('www-authenticate')).toBe('Bearer')
  const bad = await api.request('/orders', { headers: { authorization: `Bearer ${pair.access_token.slice(0, -4)}AAAA` } })
  expect(bad.status).toBe(401)
  expect(bad.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)
})

test('key rotation: the previous key stays in the JWKS (old tokens verify), a second rotation retires it', async () => {
  const before = await signUp(suite.server.url)
  const beforeForApi = await signUpForApi()
  const oldKid = JSON.parse(Buffer.from(before.access_token.split('.')[0]!, 'base64url').toString()).kid as string
  const first = await rotateSigningKeys(suite.server.db)
  expect(first.previous).toBe(oldKid)
  await suite.server.service.o.keys.load() // other processes pick a rotation up within a minute
  const jwks = (await (await fetch(`${suite.server.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
  expect(jwks.keys.map((k) => k.kid).sort()).toEqual([first.kid, oldKid].sort())
  expect((await getMe(suite.server.url, before.access_token)).status).toBe(200)
  await expect(verifyAccessToken(beforeForApi.access_token, { keys: jwks as never, ...opts() })).resolves.toBeTruthy()
  const after = (await (await refresh(suite.server.url, before.refresh_token)).json()) as Pair
  expect(JSON.parse(Buffer.from(after.access_token.split('.')[0]!, 'base64url').toString()).kid).toBe(first.kid)
  await rotateSigningKeys(suite.server.db)
  await suite.server.service.o.keys.load()
  const jwks2 = (await (await fetch(`${suite.server.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
  expect(jwks2.keys.map((k) => k.kid)).not.toContain(oldKid)
  expect((await getMe(suite.server.url, before.access_token)).status).toBe(401)
  expect((await getMe(suite.server.url, after.access_token)).status).toBe(200)
})
