import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pgliteBackend } from '../test-support/databases.js'
import { serverForSuite } from '../test-support/server.js'
import { startStandInIdp, type StandInIdp } from '../test-support/stand-in-idp.js'

describe('ID-token sign-in: the per-address limit', () => {
  let idp: StandInIdp
  const options: Record<string, unknown> = { rateLimit: { perIp: { max: 3, windowSeconds: 900 } } }
  beforeAll(async () => {
    idp = await startStandInIdp(['app'], 'ES256')
    options.identityProviders = [{ type: 'oidc', name: 'idp', issuer: idp.issuer, jwksUri: idp.jwksUri, clientIds: ['app'], nonce: 'sha256', algorithms: ['ES256'] }]
  })
  const suite = serverForSuite(pgliteBackend, options)
  afterAll(() => idp?.close())

  it('counts every attempt from an address, accepted or not, and answers 429 with Retry-After over the limit', async () => {
    const attempt = async (good: boolean, i: number) => {
      const nonce = randomBytes(24).toString('base64url')
      const id_token = await idp.idToken({ clientId: 'app', sub: `limit-${i}`, nonce: good ? createHash('sha256').update(nonce).digest('hex') : 'wrong', email: `limit-${i}-${process.pid}@example.com`, emailVerified: true })
      return fetch(`${suite.server.url}/auth/id-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id_token, nonce }) })
    }
    expect((await attempt(true, 1)).status).toBe(201)
    expect((await attempt(false, 2)).status).toBe(401)
    expect((await attempt(true, 3)).status).toBe(201)
    const limited = await attempt(true, 4)
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    // Password sign-in keeps its own budget.
    const pw = await fetch(`${suite.server.url}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'nobody@example.com', password: 'whatever password' }) })
    expect(pw.status).toBe(401)
  })
})
