import { createHash, randomBytes } from 'node:crypto'
import { EmbeddedJWK, calculateJwkThumbprint, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { nodeDpopKey } from '../test-support/dpop-key.js'
import { checkedKey, jwkThumbprint } from './key.js'
import { createDpopSigner, createNonceMemory, htuOf } from './proof.js'
import { base64Url, sha256 } from './sha256.js'

const clock = (now: number) => ({ now: () => now, monotonic: () => 0 })
const verify = (proof: string) => jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] })

describe('DPoP proofs (RFC 9449 §4.2), verified by jose', () => {
  it('carry typ, alg, the public JWK only, htm, htu without query and fragment, iat from the session clock, a jti and ath', async () => {
    const key = await nodeDpopKey()
    const now = Date.UTC(2031, 4, 6, 7, 8, 9, 999)
    const signer = createDpopSigner(key, { clock: clock(now), nonces: createNonceMemory() })
    const proof = await signer.proof('post', 'https://API.example.com:443/a/b?token=secret#frag', { accessToken: 'the-access-token' })
    const { payload, protectedHeader } = await verify(proof)
    expect(protectedHeader).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk })
    expect(payload).toEqual({
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      htm: 'POST',
      htu: 'https://api.example.com/a/b',
      iat: Math.floor(now / 1000),
      ath: createHash('sha256').update('the-access-token').digest('base64url'),
    })
    expect(signer.thumbprint).toBe(await calculateJwkThumbprint(key.publicJwk as never))
  })

  it('a new jti for every proof, also for the same request', async () => {
    const signer = createDpopSigner(await nodeDpopKey(), { clock: clock(Date.now()), nonces: createNonceMemory() })
    const jtis = new Set<unknown>()
    for (let i = 0; i < 20; i++) jtis.add((await verify(await signer.proof('GET', 'https://api.example.com/me'))).payload.jti)
    expect(jtis.size).toBe(20)
  })

  it('no ath without an access token; the nonce of the same origin only, the latest one', async () => {
    const nonces = createNonceMemory()
    const signer = createDpopSigner(await nodeDpopKey(), { clock: clock(Date.now()), nonces })
    expect((await verify(await signer.proof('POST', 'https://as.example/token'))).payload).not.toHaveProperty('ath')
    signer.learn('https://as.example/other', new Headers({ 'DPoP-Nonce': 'n1' }))
    signer.learn('https://as.example/x', { 'dpop-nonce': 'n2' })
    signer.learn('https://as.example/x', new Headers())
    expect((await verify(await signer.proof('POST', 'https://AS.example/token'))).payload.nonce).toBe('n2')
    expect((await verify(await signer.proof('POST', 'https://rs.example/token'))).payload).not.toHaveProperty('nonce')
  })

  it('htu normalisation', () => {
    expect(htuOf('https://Example.COM/p?q#f')).toBe('https://example.com/p')
    expect(htuOf('http://example.com:80/a%20b')).toBe('http://example.com/a%20b')
    expect(htuOf('https://example.com')).toBe('https://example.com/')
  })

  it('refuses keys that are not asymmetric or carry private members', async () => {
    const key = await nodeDpopKey()
    expect(() => checkedKey({ ...key, alg: 'HS256' })).toThrow(TypeError)
    expect(() => checkedKey({ ...key, alg: 'none' })).toThrow(TypeError)
    expect(() => checkedKey({ ...key, publicJwk: { ...key.publicJwk, d: 'x' } })).toThrow(/private/)
  })
})

describe('the core\'s SHA-256 and RFC 7638 thumbprint', () => {
  it('match Node and jose', async () => {
    for (const length of [0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const bytes = new Uint8Array(randomBytes(length))
      expect(base64Url(sha256(bytes))).toBe(createHash('sha256').update(bytes).digest('base64url'))
      expect(base64Url(bytes)).toBe(Buffer.from(bytes).toString('base64url'))
    }
    const key = await nodeDpopKey()
    expect(jwkThumbprint(key.publicJwk)).toBe(await calculateJwkThumbprint(key.publicJwk as never))
    // RFC 7638 §3.1's example.
    expect(jwkThumbprint({
      kty: 'RSA', e: 'AQAB', alg: 'RS256', kid: '2011-04-29',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    })).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
  })
})
