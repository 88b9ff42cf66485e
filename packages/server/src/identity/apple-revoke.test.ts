import { generateKeyPairSync } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportSPKI, importSPKI, jwtVerify } from 'jose'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { AppleRevocationError, revokeAppleToken } from './apple-revoke.js'

// A stand-in for https://appleid.apple.com/auth/revoke on loopback, checking what Apple documents:
// a form body with client_id, client_secret (ES256 JWT: kid, iss = team id, aud, sub = client id), token, token_type_hint.
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
let server: Server
let endpoint: string
const revoked: string[] = []
let failures: string[] = []

beforeAll(async () => {
  const pub = await importSPKI(await exportSPKI(publicKey), 'ES256')
  server = createServer((req, res) => {
    let raw = ''
    req.on('data', (d) => (raw += d))
    req.on('end', async () => {
      const f = new URLSearchParams(raw)
      const fail = (why: string) => {
        failures.push(why)
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}')
      }
      if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return fail('content-type')
      try {
        const { payload, protectedHeader } = await jwtVerify(f.get('client_secret') ?? '', pub, { algorithms: ['ES256'], issuer: 'TEAM123456', audience: 'https://appleid.apple.com', subject: 'com.example.app' })
        if (protectedHeader.kid !== 'KEY1234567' || typeof payload.exp !== 'number') return fail('kid/exp')
      } catch {
        return fail('client_secret')
      }
      if (f.get('client_id') !== 'com.example.app') return fail('client_id')
      if (!['refresh_token', 'access_token'].includes(f.get('token_type_hint') ?? '')) return fail('hint')
      revoked.push(f.get('token') ?? '')
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/revoke`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

const config = () => ({ teamId: 'TEAM123456', keyId: 'KEY1234567', privateKeyPem: pem, clientId: 'com.example.app', endpoint })

test('revokes a refresh token with an ES256 client secret Apple would accept', async () => {
  failures = []
  await revokeAppleToken(config(), { token: 'r.apple-refresh-token', tokenTypeHint: 'refresh_token' })
  expect(failures).toEqual([])
  expect(revoked).toContain('r.apple-refresh-token')
})

test('a refusal (wrong key) is an AppleRevocationError naming the status, never the token', async () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  const err = await revokeAppleToken({ ...config(), privateKeyPem: other }, { token: 'secret-token-value', tokenTypeHint: 'access_token' }).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(AppleRevocationError)
  expect((err as AppleRevocationError).status).toBe(400)
  expect((err as Error).message).toMatch(/invalid_client/)
  expect((err as Error).message).not.toContain('secret-token-value')
})

test('an unreachable endpoint is an AppleRevocationError', async () => {
  await expect(revokeAppleToken({ ...config(), endpoint: 'http://127.0.0.1:1/auth/revoke' }, { token: 't', tokenTypeHint: 'refresh_token' })).rejects.toBeInstanceOf(AppleRevocationError)
})
