import { randomBytes } from 'node:crypto'
import { SignJWT, generateKeyPair, importJWK, type JWK } from 'jose'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ConfigError, loadConfig, resolveConfig } from '../config.js'
import { HttpError } from '../http/errors.js'
import { startStandInIdp, type StandInIdp } from '../test-support/stand-in-idp.js'
import { resolveIdentityProviders } from './providers.js'
import { IdTokenVerifier } from './verify.js'

let idp: StandInIdp
beforeAll(async () => {
  idp = await startStandInIdp(['app'])
})
afterAll(() => idp.close())

test('tokens with made-up kids refetch the JWKS at most once per cooldown (rate limit)', async () => {
  const p = resolveIdentityProviders([{ type: 'oidc', issuer: idp.issuer, jwksUri: idp.jwksUri, clientIds: ['app'], jwksCooldownSeconds: 3600 }], false)[0]!
  const v = new IdTokenVerifier([p], { now: () => new Date() })
  const n = randomBytes(16).toString('hex')
  // The first verification fetches the set.
  await expect(v.verify(await idp.idToken({ clientId: 'app', sub: 's', nonce: n }), n)).resolves.toMatchObject({ subject: 's' })
  const after = idp.jwksFetches
  const { privateKey } = await generateKeyPair('RS256')
  const now = Math.floor(Date.now() / 1000)
  for (let i = 0; i < 20; i++) {
    const forged = await new SignJWT({ iss: idp.issuer, aud: 'app', sub: 's', nonce: n, iat: now, exp: now + 60 }).setProtectedHeader({ alg: 'RS256', kid: `made-up-${i}` }).sign(privateKey)
    const e = await v.verify(forged, n).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(HttpError)
    expect((e as HttpError).status).toBe(401)
  }
  expect(idp.jwksFetches - after).toBeLessThanOrEqual(1)
})

test('an unreachable JWKS is a 503, not a 500', async () => {
  const p = resolveIdentityProviders([{ type: 'oidc', issuer: idp.issuer, jwksUri: 'http://127.0.0.1:1/jwks', clientIds: ['app'] }], false)[0]!
  const v = new IdTokenVerifier([p], { now: () => new Date() })
  const n = randomBytes(16).toString('hex')
  const e = await v.verify(await idp.idToken({ clientId: 'app', sub: 's', nonce: n }), n).catch((x: unknown) => x)
  expect((e as HttpError).status).toBe(503)
})

test('provider configuration: https only, except loopback outside production; clear errors', () => {
  const oidc = { type: 'oidc' as const, issuer: 'http://127.0.0.1:9/', jwksUri: 'http://127.0.0.1:9/jwks', clientIds: ['a'] }
  expect(resolveConfig({ identityProviders: [oidc] }).identityProviders[0]?.issuer).toBe('http://127.0.0.1:9/')
  expect(() => resolveConfig({ identityProviders: [oidc], production: true })).toThrow(/https/)
  expect(() => resolveConfig({ identityProviders: [{ ...oidc, issuer: 'http://idp.example.com' }] })).toThrow(ConfigError)
  expect(() => resolveConfig({ identityProviders: [{ ...oidc, clientIds: [] }] })).toThrow(/client id/)
  expect(() => resolveConfig({ identityProviders: [{ ...oidc, algorithms: ['HS256' as never] }] })).toThrow(/never none or HS/)
  const env = loadConfig({ LATCHKEY_APPLE_CLIENT_IDS: 'com.example.app', LATCHKEY_GOOGLE_CLIENT_IDS: 'ios.apps.googleusercontent.com,web.apps.googleusercontent.com' })
  expect(env.identityProviders.map((p) => [p.name, p.issuers, p.clientIds.length, p.nonce])).toEqual([
    ['apple', ['https://appleid.apple.com'], 1, 'sha256'],
    ['google', ['https://accounts.google.com', 'accounts.google.com'], 2, 'raw'],
  ])
  expect(() => loadConfig({ LATCHKEY_OIDC_ISSUER: 'https://idp.example.com' })).toThrow(/LATCHKEY_OIDC_CLIENT_IDS/)
})

test('a generic provider without a JWKS URL finds it by discovery (issuer checked)', async () => {
  const p = resolveIdentityProviders([{ type: 'oidc', issuer: idp.issuer, clientIds: ['app'] }], false)[0]!
  expect(p.jwksUri).toBeNull()
  const v = new IdTokenVerifier([p], { now: () => new Date() })
  const n = randomBytes(16).toString('hex')
  await expect(v.verify(await idp.idToken({ clientId: 'app', sub: 'disc', nonce: n }), n)).resolves.toMatchObject({ subject: 'disc' })
  // A discovery document naming another issuer is not used (503, not a sign-in).
  const q = resolveIdentityProviders([{ type: 'oidc', issuer: `${idp.issuer}/`, clientIds: ['app'] }], false)[0]!
  const w = new IdTokenVerifier([q], { now: () => new Date() })
  const jwk = idp.privateJwk() as JWK
  const now = Math.floor(Date.now() / 1000)
  const forged = await new SignJWT({ iss: `${idp.issuer}/`, aud: 'app', sub: 'disc', nonce: n, iat: now, exp: now + 60 }).setProtectedHeader({ alg: 'RS256', kid: jwk.kid }).sign(await importJWK(jwk, 'RS256'))
  const e = await w.verify(forged, n).catch((x: unknown) => x)
  expect((e as HttpError).status).toBe(503)
})
