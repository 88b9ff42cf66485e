import { createCipheriv } from 'node:crypto'
import { Hono } from 'hono'
import { importJWK, SignJWT, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { InvalidAccessTokenError } from './crypto/jwt.js'
import { KeyCipher, SigningKeyDecryptionError, rotateSigningKeys } from './crypto/keys.js'
import { macKeyFromSecret } from './crypto/refresh-token.js'
import { requireAccessToken, verifyAccessToken } from './resource.js'
import { createPgliteDir, testBackends, type TestDatabase } from './test-support/databases.js'
import { getMe, signUp, startTestServer } from './test-support/server.js'
import type { RunningServer } from './server.js'
import { createApp } from './app.js'
import type { Logger } from './service.js'

// Security review finding 6: a read of the database was enough to mint tokens.

const TEN_YEARS = 10 * 365 * 86_400
const API = 'https://orders.example.com'

describe('finding 6: an access token whose lifetime exceeds the configured one is refused', () => {
  let tdb: TestDatabase
  let server: RunningServer
  let claims: Record<string, unknown>
  let kid: string
  let privateKey: Awaited<ReturnType<typeof importJWK>>

  beforeAll(async () => {
    tdb = createPgliteDir()
    server = await startTestServer(tdb, { accessTtl: 600, resources: [API] })
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

  /** Correctly signed with the server's own key: only the lifetime (and, for a resource server, the audience) differs from a real token. */
  const signed = (lifetime: number, aud = claims.aud as string) => {
    const iat = Math.floor(Date.now() / 1000)
    return new SignJWT({ ...claims, aud, iat, exp: iat + lifetime }).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(privateKey)
  }
  const options = () => ({ keys: { keys: [] as JWK[] }, issuer: server.issuer, audience: API })

  test('finding 6: /me refuses a token signed with the server key but with exp 10 years ahead (401); one of the configured lifetime passes', async () => {
    expect((await getMe(server.url, await signed(600))).status).toBe(200)
    const res = await getMe(server.url, await signed(TEN_YEARS))
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'invalid_token' })
  })

  test('finding 6: verifyAccessToken with maxTokenAge refuses the 10-year token, accepts the normal one', async () => {
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] }
    const o = { ...options(), keys: jwks, maxTokenAge: 600 }
    await expect(verifyAccessToken(await signed(600, API), o)).resolves.toMatchObject({ sub: claims.sub })
    await expect(verifyAccessToken(await signed(TEN_YEARS, API), o)).rejects.toThrow(InvalidAccessTokenError)
    // Without the option the bound is not applied (compatible default for resource servers).
    await expect(verifyAccessToken(await signed(TEN_YEARS, API), { ...o, maxTokenAge: undefined })).resolves.toBeDefined()
  })

  test('finding 6: requireAccessToken with maxTokenAge answers 401 to the 10-year token', async () => {
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] }
    const api = new Hono().get('/r', requireAccessToken({ ...options(), keys: jwks, maxTokenAge: 600 }), (c) => c.text('ok'))
    const call = async (t: string) => (await api.request('/r', { headers: { authorization: `Bearer ${t}` } })).status
    expect(await call(await signed(600, API))).toBe(200)
    expect(await call(await signed(TEN_YEARS, API))).toBe(401)
  })
})

describe.each(testBackends())('finding 6: private signing keys are encrypted at rest with LATCHKEY_SECRET ($name)', (backend) => {
  const SECRET = 'a'.repeat(20) + 'finding-6-secret-value'
  const OTHER = 'b'.repeat(20) + 'finding-6-other-secret'
  let tdb: TestDatabase
  beforeAll(async () => {
    tdb = await backend.create()
  })
  afterAll(async () => {
    await tdb?.cleanup()
  })

  // One issuer across restarts (port 0 would name a new one each time), so earlier tokens stay checkable.
  const start = (options: Parameters<typeof startTestServer>[1] = {}) => startTestServer(tdb, { issuer: 'http://keys-at-rest.test', ...options })
  const rows = async (server: RunningServer) => server.db.selectFrom('signing_keys').select(['kid', 'status', 'private_jwk']).execute()

  test('finding 6: keys stored in clear are encrypted on the first start with a secret; no "d" in clear; signs, verifies, restarts; a wrong or missing secret stops the start', async () => {
    // A server started without a secret, as before the fix: the key is in clear.
    let server = await start()
    const before = await signUp(server.url)
    const [plain] = await rows(server)
    expect(JSON.parse(plain!.private_jwk)).toHaveProperty('d')
    await server.close()

    // First start with the secret: the stored key is encrypted in place (same kid), tokens it signed still verify.
    server = await start({ secret: SECRET })
    try {
      const stored = await rows(server)
      expect(stored.map((r) => r.kid)).toEqual([plain!.kid])
      for (const r of stored) {
        expect(r.private_jwk.startsWith('enc:v1:')).toBe(true)
        expect(r.private_jwk).not.toContain('"d"')
        expect(r.private_jwk).not.toContain((JSON.parse(plain!.private_jwk) as { d: string }).d)
      }
      expect((await getMe(server.url, before.access_token)).status).toBe(200)
      const pair = await signUp(server.url)
      expect((await getMe(server.url, pair.access_token)).status).toBe(200)
    } finally {
      await server.close()
    }

    // Restart with the same secret, after a rotation made under it (as `rotate-keys` does): the new key is encrypted too.
    server = await start({ secret: SECRET })
    try {
      // A programmatic rotation without the cipher would write a key in clear: refused.
      await expect(rotateSigningKeys(server.db)).rejects.toThrow(SigningKeyDecryptionError)
      await rotateSigningKeys(server.db, new Date(), new KeyCipher(SECRET))
      await server.service.o.keys.load()
      for (const r of await rows(server)) expect(r.private_jwk.startsWith('enc:v1:')).toBe(true)
      const pair = await signUp(server.url)
      expect((await getMe(server.url, pair.access_token)).status).toBe(200)
    } finally {
      await server.close()
    }

    // A wrong secret, or none, cannot start over encrypted keys, and says why.
    await expect(start({ secret: OTHER })).rejects.toThrow(/LATCHKEY_SECRET is not the secret the signing keys were encrypted with/)
    await expect(start()).rejects.toThrow(/stored encrypted: set LATCHKEY_SECRET/)
    // Nothing was changed by the failed starts: the right secret still works.
    server = await start({ secret: SECRET })
    await server.close()
  })

  test('finding 6: the encryption key is derived with its own label, apart from the refresh-token MAC key; ciphertexts are bound to their kid', () => {
    const c = new KeyCipher(SECRET)
    const enc = c.encrypt('kid-1', '{"d":"x"}')
    expect(c.decrypt('kid-1', enc)).toBe('{"d":"x"}')
    expect(() => c.decrypt('kid-2', enc)).toThrow(SigningKeyDecryptionError)
    expect(() => new KeyCipher(OTHER).decrypt('kid-1', enc)).toThrow(SigningKeyDecryptionError)
    // The same secret through the MAC derivation must not be usable as the AES key.
    const macKey = macKeyFromSecret(SECRET)
    const iv = Buffer.alloc(12)
    const cipherWithMacKey = createCipheriv('aes-256-gcm', macKey, iv).setAAD(Buffer.from('kid-1'))
    const body = Buffer.concat([cipherWithMacKey.update('{"d":"x"}'), cipherWithMacKey.final(), cipherWithMacKey.getAuthTag()])
    expect(() => c.decrypt('kid-1', `enc:v1:${iv.toString('base64url')}.${body.toString('base64url')}`)).toThrow(SigningKeyDecryptionError)
  })
})

describe('finding 6: a start without LATCHKEY_SECRET warns once through the injected logger', () => {
  const capture = () => {
    const warnings: string[] = []
    const logger: Logger = { info() {}, warn: (m) => void warnings.push(m), error() {} }
    return { warnings, logger }
  }

  test('finding 6: without a secret, one warning naming LATCHKEY_SECRET; with one, none', async () => {
    for (const [secret, expected] of [[undefined, 1], ['c'.repeat(32), 0]] as const) {
      const { warnings, logger } = capture()
      const built = await createApp({ issuer: 'http://warn.test', dataDir: 'memory://', pruneInterval: 0, logger, ...(secret ? { secret } : {}) })
      await built.close()
      expect(warnings.filter((w) => w.includes('LATCHKEY_SECRET'))).toHaveLength(expected)
    }
  })
})
