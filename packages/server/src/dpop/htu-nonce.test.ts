import { describe, expect, test } from 'vitest'
import { normalizeHtu } from './htu.js'
import { DpopNonces } from './nonce.js'

describe('htu normalisation (RFC 9449 §4.3, RFC 3986 §6.2.2–6.2.3)', () => {
  const base = 'https://auth.example.com/oauth/token'
  test.each([
    ['HTTPS://Auth.Example.COM/oauth/token', base],
    ['https://auth.example.com:443/oauth/token', base],
    ['https://auth.example.com/oauth/./x/../token', base],
    ['https://auth.example.com/%6Fauth/token', base], // an unreserved character percent-encoded
    ['https://auth.example.com/oauth/token?x=1#frag', base], // query and fragment ignored
    ['https://auth.example.com', 'https://auth.example.com/'],
    ['https://auth.example.com/a%2fb', 'https://auth.example.com/a%2Fb'], // reserved stays encoded, hex uppercased
  ])('%s → %s', (input, expected) => expect(normalizeHtu(input)).toBe(expected))

  test('different ports, paths and schemes stay different', () => {
    expect(normalizeHtu('https://auth.example.com:8443/oauth/token')).not.toBe(base)
    expect(normalizeHtu('http://auth.example.com/oauth/token')).not.toBe(base)
    expect(normalizeHtu('https://auth.example.com/oauth/token/')).not.toBe(base)
  })

  test.each([[''], ['not a uri'], ['ftp://auth.example.com/x'], ['https://user:pw@auth.example.com/x'], [42], [null], ['https://x/' + 'a'.repeat(3000)]])('refused: %s', (v) =>
    expect(normalizeHtu(v)).toBeUndefined(),
  )
})

describe('stateless DPoP nonces (RFC 9449 §8)', () => {
  const key = Buffer.alloc(32, 7)
  const nonces = new DpopNonces(key, 60)
  const t = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000)

  test('a nonce is accepted in its step and the next, not after; by every instance with the same key, not another', () => {
    const n = nonces.current(t(0))
    expect(nonces.accepts(n, t(0))).toBe(true)
    expect(nonces.accepts(n, t(60))).toBe(true)
    expect(nonces.accepts(n, t(120))).toBe(false)
    expect(nonces.accepts(n, t(-60))).toBe(false) // from the future
    expect(new DpopNonces(Buffer.from(key), 60).accepts(n, t(0))).toBe(true)
    expect(new DpopNonces(Buffer.alloc(32, 8), 60).accepts(n, t(0))).toBe(false)
  })

  test('forged or malformed nonces are refused', () => {
    const n = nonces.current(t(0))
    const [step, mac] = n.split('.')
    expect(nonces.accepts(`${step}.${mac!.slice(0, -1)}${mac!.endsWith('A') ? 'B' : 'A'}`, t(0))).toBe(false)
    expect(nonces.accepts(`${(parseInt(step!, 36) + 1).toString(36)}.${mac}`, t(60))).toBe(false)
    for (const bad of [undefined, 12, '', 'x', 'a.b', n + 'x', 'z'.repeat(100)]) expect(nonces.accepts(bad, t(0))).toBe(false)
  })
})
