import { CredentialInvalidatedError } from '@latchkey/core'

export type SecureStoreErrorCode =
  /** A read or write that may succeed later: device locked before first unlock, prompt cancelled. */
  | 'LK_SECURE_STORE_UNAVAILABLE'
  /** A write the native module refused (too large for this platform, keychain error). */
  | 'LK_SECURE_STORE_WRITE'

/** A secure-store failure that does not mean the stored credential is gone. Nothing was deleted. */
export class SecureStoreError extends Error {
  readonly code: SecureStoreErrorCode
  readonly operation: 'getItem' | 'setItem' | 'removeItem'
  constructor(code: SecureStoreErrorCode, operation: SecureStoreError['operation'], message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SecureStoreError'
    this.code = code
    this.operation = operation
  }
}

export type SecureStoreFailureKind = 'invalidated' | 'transient'

const invalidatedPattern = /could not decrypt|permanently invalidated|KeyPermanentlyInvalidated|BadPadding|AEADBadTag|errSecDecode|Unable to decode/i

/**
 * What a native read failure means. expo-secure-store reports an undecryptable item (its
 * Keystore/Keychain key was invalidated by a biometric change or a restore) as `ERR_DECRYPT`
 * on Android; everything else (iOS errSecInteractionNotAllowed while the device is locked,
 * a cancelled prompt, I/O) may pass, so it is transient: the caller keeps the data and retries.
 */
export function classifySecureStoreError(error: unknown): SecureStoreFailureKind {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  if (code === 'ERR_DECRYPT') return 'invalidated'
  if (typeof message === 'string' && invalidatedPattern.test(message)) return 'invalidated'
  return 'transient'
}

/** The error the core turns into a sign-out with reason `credential_invalidated`. */
export const invalidated = (cause?: unknown) => new CredentialInvalidatedError(cause === undefined ? undefined : { cause })
