// Issue 12: `requireAccessToken` (a resource server of its own, on loopback) and DPoP-bound
// tokens (RFC 9449 §7.1): the DPoP scheme with a proof by the bound key and `ath` passes; the
// token as Bearer, a foreign key, a replayed proof, a missing ath are refused with DPoP challenges;
// bearer tokens keep working as before.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { requireAccessToken, type AccessTokenClaims } from './resource.js'
import { pgliteBackend } from './test-support/databases.js'
import { DpopKey } from './test-support/dpop.js'
import { PASSWORD, serverForSuite, signUp, type Pair } from './test-support/server.js'

const API = 'https://orders.example.com'
const suite = serverForSuite(pgliteBackend, { resources: [API], rateLimit: false })
let apiUrl = ''
let close: () => void = () => undefined

beforeAll(async () => {
  const api = new Hono<{ Variables: { accessToken: AccessTokenClaims } }>()
  api.get('/orders', requireAccessToken({ jwksUrl: `${suite.server.url}/.well-known/jwks.json`, issuer: suite.server.issuer, audience: API }), (c) => c.json({ user: c.get('accessToken').sub }))
  await new Promise<void>((resolve) => {
    const server = serve({ fetch: api.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      apiUrl = `http://127.0.0.1:${info.port}`
      resolve()
    })
    close = () => server.close()
  })
})
afterAll(() => close())

async function boundPairForApi(key: DpopKey): Promise<Pair> {
  const { email } = await signUp(suite.server.url)
  const htu = `${suite.server.issuer}/auth/sign-in`
  const body = JSON.stringify({ email, password: PASSWORD, resource: API })
  const first = await fetch(`${suite.server.url}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json', dpop: await key.proof('POST', htu, new Date()) }, body })
  const nonce = first.headers.get('dpop-nonce')!
  const res = await fetch(`${suite.server.url}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json', dpop: await key.proof('POST', htu, new Date(), { nonce }) }, body })
  expect(res.status).toBe(200)
  return (await res.json()) as Pair
}

test('a bound token at a resource server: DPoP with a proof passes; Bearer, foreign key, replay, no ath are refused', async () => {
  const key = await DpopKey.create()
  const pair = await boundPairForApi(key)
  const orders = async (authorization: string, dpop?: string) => fetch(`${apiUrl}/orders`, { headers: { authorization, ...(dpop ? { dpop } : {}) } })
  const proof = (o: Parameters<DpopKey['proof']>[3] = {}, k = key) => k.proof('GET', `${apiUrl}/orders`, new Date(), { accessToken: pair.access_token, ...o })

  const good = await proof()
  expect((await orders(`DPoP ${pair.access_token}`, good)).status).toBe(200)
  const replay = await orders(`DPoP ${pair.access_token}`, good)
  expect(replay.status).toBe(401)
  expect(replay.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof".*algs="ES256 EdDSA"/)
  const asBearer = await orders(`Bearer ${pair.access_token}`)
  expect(asBearer.status).toBe(401)
  expect(asBearer.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/)
  expect((await orders(`DPoP ${pair.access_token}`, await proof({}, await DpopKey.create()))).status).toBe(401)
  expect((await orders(`DPoP ${pair.access_token}`, await proof({ claims: { ath: undefined } }))).status).toBe(401)
  expect((await orders(`DPoP ${pair.access_token}`, await proof({ claims: { htu: `${apiUrl}/other` } }))).status).toBe(401)
  expect((await orders(`DPoP ${pair.access_token}`)).status).toBe(401)
})

test('bearer tokens at the resource server work as before; with the DPoP scheme they are refused', async () => {
  const pair = await signUp(suite.server.url, undefined, undefined, API)
  expect((await fetch(`${apiUrl}/orders`, { headers: { authorization: `Bearer ${pair.access_token}` } })).status).toBe(200)
  const key = await DpopKey.create()
  const res = await fetch(`${apiUrl}/orders`, {
    headers: { authorization: `DPoP ${pair.access_token}`, dpop: await key.proof('GET', `${apiUrl}/orders`, new Date(), { accessToken: pair.access_token }) },
  })
  expect(res.status).toBe(401)
  expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/)
})
