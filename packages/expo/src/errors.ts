import { isLatchkeyError, type LatchkeyError, type LatchkeyErrorCode } from '@latchkey/core'
import { SecureStoreError, type SecureStoreErrorCode } from './storage/errors.js'

/**
 * Every error code of `@latchkey/expo`: the core's (`LatchkeyErrorCode`) and the secure store's.
 * One union, so `switch (err.code)` over a `LatchkeyExpoError` narrows to the class.
 */
export type LatchkeyExpoErrorCode = LatchkeyErrorCode | SecureStoreErrorCode

/** Every error `@latchkey/expo` raises or passes on from the core. */
export type LatchkeyExpoError = LatchkeyError | SecureStoreError

export function isLatchkeyExpoError(value: unknown): value is LatchkeyExpoError {
  return value instanceof SecureStoreError || isLatchkeyError(value)
}
