import { CredentialInvalidatedError } from '@latchkey/core'

export type SecureStoreErrorCode =
  /** A read or write that may succeed later: device locked before first unlock, prompt cancelled. */
  | 'LK_SECURE_STORE_UNAVAILABLE'
  /** A write the native module refused (too large for this platform, keychain error). */
  | 'LK_SECURE_STORE_WRITE'
  /**
   * The OS prompt of a `requireAuthentication` read was cancelled by the user (or the system).
   * Transient too: nothing was deleted, the next read prompts again.
   */
  | 'LK_SECURE_STORE_AUTH_CANCELLED'

/**
 * A secure-store failure that does not mean the stored credential is gone. Nothing was deleted.
 * Its codes join the core's in one union, `LatchkeyExpoErrorCode` (src/errors.ts).
 */
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

// expo-secure-store's own words for a cancelled prompt: iOS KeyChainException (ERR_KEY_CHAIN) for
// errSecUserCanceled, Android AuthenticationException (ERR_AUTHENTICATION) for BiometricPrompt's
// ERROR_USER_CANCELED / ERROR_NEGATIVE_BUTTON. The only place these messages are matched.
const cancelPattern = /User cancel+ed the (operation|authentication)/i

/** Whether a native read failed because the user (or system) dismissed the OS prompt. */
export function isSecureStoreAuthCancel(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  if (code !== 'ERR_KEY_CHAIN' && code !== 'ERR_AUTHENTICATION') return false
  return typeof message === 'string' && cancelPattern.test(message)
}

/** The `SecureStoreError` in an error's cause chain (the core wraps storage failures), if any. */
export function findSecureStoreError(error: unknown): SecureStoreError | undefined {
  let e: unknown = error
  for (let depth = 0; depth < 8 && e !== null && typeof e === 'object'; depth++) {
    if (e instanceof SecureStoreError) return e
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** The error the core turns into a sign-out with reason `credential_invalidated`. */
export const invalidated = (cause?: unknown) => new CredentialInvalidatedError(cause === undefined ? undefined : { cause })
