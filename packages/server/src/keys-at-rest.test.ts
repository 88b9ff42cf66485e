import { Hono } from 'hono'
import { importJWK, SignJWT, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { InvalidAccessTokenError } from './crypto/jwt.js'
import { requireAccessToken, verifyAccessToken } from './resource.js'
import { createPgliteDir, type TestDatabase } from './test-support/databases.js'
import { getMe, signUp, startTestServer } from './test-support/server.js'
import type { RunningServer } from './server.js'

// Security review finding 6: a read of the database was enough to mint tokens.

const TEN_YEARS = 10 * 365 * 86_400

describe('finding 6: an access token whose lifetime exceeds the configured one is refused', () => {
  let tdb: TestDatabase
  let server: RunningServer
  let claims: Record<string, unknown>
  let kid: string
  let privateKey: Awaited<ReturnType<typeof importJWK>>

  beforeAll(async () => {
    tdb = createPgliteDir()
    server = await startTestServer(tdb, { accessTtl: 600 })
    const pair = await signUp(server.url)
    claims = JSON.parse(Buffer.from(pair.access_token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
    const row = await server.db.selectFrom('signing_keys').selectAll().where('status', '=', 'current').executeTakeFirstOrThrow()
    kid = row.kid
    privateKey = await importJWK(JSON.parse(row.private_jwk) as JWK, 'ES256')
  })
  afterAll(async () => {
    await server?.close()
    await tdb?.cleanup()
  })

  /** Correctly signed with the server's own key: only the lifetime differs from a real token. */
  const signed = (lifetime: number) => {
    const iat = Math.floor(Date.now() / 1000)
    return new SignJWT({ ...claims, iat, exp: iat + lifetime }).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(privateKey)
  }
  const options = () => ({ keys: { keys: [] as JWK[] }, issuer: server.issuer, audience: server.issuer })

  test('finding 6: /me refuses a token signed with the server key but with exp 10 years ahead (401); one of the configured lifetime passes', async () => {
    expect((await getMe(server.url, await signed(600))).status).toBe(200)
    const res = await getMe(server.url, await signed(TEN_YEARS))
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'invalid_token' })
  })

  test('finding 6: verifyAccessToken with maxTokenAge refuses the 10-year token, accepts the normal one', async () => {
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] }
    const o = { ...options(), keys: jwks, maxTokenAge: 600 }
    await expect(verifyAccessToken(await signed(600), o)).resolves.toMatchObject({ sub: claims.sub })
    await expect(verifyAccessToken(await signed(TEN_YEARS), o)).rejects.toThrow(InvalidAccessTokenError)
    // Without the option the bound is not applied (compatible default for resource servers).
    await expect(verifyAccessToken(await signed(TEN_YEARS), { ...o, maxTokenAge: undefined })).resolves.toBeDefined()
  })

  test('finding 6: requireAccessToken with maxTokenAge answers 401 to the 10-year token', async () => {
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] }
    const api = new Hono().get('/r', requireAccessToken({ ...options(), keys: jwks, maxTokenAge: 600 }), (c) => c.text('ok'))
    const call = async (t: string) => (await api.request('/r', { headers: { authorization: `Bearer ${t}` } })).status
    expect(await call(await signed(600))).toBe(200)
    expect(await call(await signed(TEN_YEARS))).toBe(401)
  })
})
