import { CredentialInvalidatedError, NetworkError } from '@latchkey/core'
import { describe, expect, it } from 'vitest'
import { isLatchkeyExpoError, type LatchkeyExpoError } from './errors.js'
import { SecureStoreError } from './storage/errors.js'

describe('one error union for @latchkey/expo', () => {
  it("the secure store's errors and the core's are both in it; anything else is not", () => {
    const cancelled = new SecureStoreError('LK_SECURE_STORE_AUTH_CANCELLED', 'getItem', 'prompt cancelled')
    expect(isLatchkeyExpoError(cancelled)).toBe(true)
    expect(isLatchkeyExpoError(new CredentialInvalidatedError())).toBe(true)
    expect(isLatchkeyExpoError(Object.assign(new Error('x'), { code: 'LK_SOMETHING_ELSE' }))).toBe(false)
    expect(isLatchkeyExpoError('LK_NETWORK')).toBe(false)
  })

  it('switch (err.code) narrows to the class, secure-store codes included (checked by the compiler)', () => {
    const what = (e: LatchkeyExpoError): string => {
      switch (e.code) {
        case 'LK_SECURE_STORE_AUTH_CANCELLED':
        case 'LK_SECURE_STORE_UNAVAILABLE':
        case 'LK_SECURE_STORE_WRITE':
          return `${e.code} on ${e.operation}` // `operation` exists only on SecureStoreError
        case 'LK_NETWORK':
          return `network: ${e.detail}`
        default:
          return e.code
      }
    }
    expect(what(new SecureStoreError('LK_SECURE_STORE_WRITE', 'setItem', 'refused'))).toBe('LK_SECURE_STORE_WRITE on setItem')
    expect(what(new NetworkError('unreachable', 'offline'))).toBe('network: unreachable')
    expect(what(new CredentialInvalidatedError())).toBe('LK_CREDENTIAL_INVALIDATED')
  })
})
