import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK, type JWTVerifyGetKey } from 'jose'
import { beforeAll, describe, expect, test } from 'vitest'
import { InvalidAccessTokenError, verifyAccessTokenWith, type InvalidAccessTokenCode } from './jwt.js'

const ISS = 'https://auth.example'
const AUD = 'https://api.example'
const NOW = new Date('2026-01-01T00:00:00Z')
const iat = Math.floor(NOW.getTime() / 1000)

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']
let key: Key
let getKey: JWTVerifyGetKey

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true })
  key = pair.privateKey
  const publicKey = await importJWK({ ...((await exportJWK(pair.publicKey)) as JWK), alg: 'ES256' }, 'ES256')
  getKey = (header) => {
    if (header.kid !== 'k1') throw new InvalidAccessTokenError('unknown key id', 'unknown_key')
    return publicKey as Key
  }
})

interface Shape {
  claims?: Record<string, unknown>
  header?: Record<string, unknown>
  iss?: string
  aud?: string
  iat?: number
  exp?: number
}

const sign = (o: Shape = {}) => {
  const claims = Object.fromEntries(Object.entries({ sub: 'user', sid: 'session', jti: 'id', ...o.claims }).filter(([, v]) => v !== undefined))
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt', ...o.header })
    .setIssuer(o.iss ?? ISS)
    .setAudience(o.aud ?? AUD)
    .setIssuedAt(o.iat ?? iat)
    .setExpirationTime(o.exp ?? iat + 600)
  return jwt.sign(key)
}

const codeOf = async (token: unknown, extra: { maxTokenAge?: number } = {}): Promise<InvalidAccessTokenCode | 'accepted'> => {
  try {
    await verifyAccessTokenWith(token, getKey, { issuer: ISS, audience: AUD, currentDate: NOW, ...extra })
    return 'accepted'
  } catch (e) {
    if (!(e instanceof InvalidAccessTokenError)) throw e
    return e.code
  }
}

describe('InvalidAccessTokenError says why by a stable code', () => {
  test('a good token is accepted', async () => {
    expect(await codeOf(await sign())).toBe('accepted')
  })

  test('missing and malformed tokens', async () => {
    expect(await codeOf(undefined)).toBe('missing')
    expect(await codeOf('')).toBe('missing')
    expect(await codeOf(42)).toBe('malformed')
    expect(await codeOf('x'.repeat(4097))).toBe('malformed')
    expect(await codeOf('not.a.jwt')).toBe('malformed')
  })

  test('time: expired, not yet valid, longer-lived than allowed', async () => {
    expect(await codeOf(await sign({ iat: iat - 700, exp: iat - 60 }))).toBe('expired')
    expect(await codeOf(await sign({ claims: { nbf: iat + 60 } }))).toBe('not_yet_valid')
    expect(await codeOf(await sign({ exp: iat + 3600 }), { maxTokenAge: 600 })).toBe('too_long_lived')
  })

  test('who it is for and from: issuer, audience, type, claims', async () => {
    expect(await codeOf(await sign({ iss: 'https://other.example' }))).toBe('wrong_issuer')
    expect(await codeOf(await sign({ aud: 'https://other.example' }))).toBe('wrong_audience')
    expect(await codeOf(await sign({ header: { typ: 'JWT' } }))).toBe('wrong_type')
    expect(await codeOf(await sign({ claims: { sid: undefined } }))).toBe('missing_claims')
    expect(await codeOf(await sign({ claims: { sid: 7 } }))).toBe('missing_claims')
  })

  test('keys and signatures', async () => {
    expect(await codeOf(await sign({ header: { kid: 'k2' } }))).toBe('unknown_key')
    const good = await sign()
    const [h, p, sig] = good.split('.') as [string, string, string]
    const flipped = `${h}.${p}.${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`
    expect(await codeOf(flipped)).toBe('invalid_signature')
    const hs256 = `${Buffer.from(JSON.stringify({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' })).toString('base64url')}.${p}.${sig}`
    expect(await codeOf(hs256)).toBe('algorithm_not_allowed')
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${p}.`
    expect(await codeOf(none)).toBe('algorithm_not_allowed')
  })
})

describe('signAccessToken (node:crypto, synchronous ES256)', () => {
  test('a JWS any JOSE library verifies: ES256 R||S (RFC 7518 §3.4), the header and claims as issued', async () => {
    const { createPrivateKey } = await import('node:crypto')
    const { jwtVerify, decodeProtectedHeader } = await import('jose')
    const { signAccessToken } = await import('./jwt.js')
    const privateJwk = await exportJWK(key)
    const keys = { signingKey: async () => ({ kid: 'k1', key, keyObject: createPrivateKey({ key: privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' }) }) }
    const token = await signAccessToken(keys as never, { issuer: ISS, audience: AUD, userId: 'user', sessionId: 'session', roles: ['admin'], emailVerified: true, ttlSeconds: 600, now: NOW, dpopJkt: 'thumb' })
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
    expect(Buffer.from(token.split('.')[2]!, 'base64url')).toHaveLength(64)
    const { payload } = await jwtVerify(token, getKey, { issuer: ISS, audience: AUD, currentDate: NOW, typ: 'at+jwt' })
    expect(payload).toMatchObject({ sub: 'user', sid: 'session', roles: ['admin'], email_verified: true, cnf: { jkt: 'thumb' }, iat, exp: iat + 600 })
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(await codeOf(token)).toBe('accepted')
    // One bit of the signature changed: refused.
    const [h, p, s] = token.split('.') as [string, string, string]
    const bytes = Buffer.from(s, 'base64url')
    bytes[10] = bytes[10]! ^ 1
    expect(await codeOf(`${h}.${p}.${bytes.toString('base64url')}`)).toBe('invalid_signature')
  })
})
