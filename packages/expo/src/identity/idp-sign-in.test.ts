import { describe, expect, it } from 'vitest'
import { createRawNonce, sha256Hex } from './idp-sign-in.js'

describe('nonce helpers', () => {
  it('the raw nonce is 32 CSPRNG bytes in base64url, new each time', () => {
    const a = createRawNonce()
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(createRawNonce()).not.toBe(a)
    // Built from the bytes given (an injected generator): all-0xff bytes give "_" characters.
    expect(createRawNonce((b) => b.fill(0xff))).toBe('_'.repeat(42) + '8')
  })
  it('sha256Hex is SHA-256 of the UTF-8 string in lowercase hex (what Apple puts in the token)', async () => {
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })
})
