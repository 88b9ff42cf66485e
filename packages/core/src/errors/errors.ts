/**
 * Every error the core raises is a `LatchkeyError` with a stable `code`, so
 * `switch (err.code)` narrows to the subclass. Messages never contain tokens
 * (OWASP Logging Cheat Sheet: do not log session identifiers or secrets).
 */
export type LatchkeyErrorCode =
  | 'LK_NETWORK'
  | 'LK_TIMEOUT'
  | 'LK_REFRESH_REJECTED'
  | 'LK_OAUTH'
  | 'LK_CLIENT_CONFIG'
  | 'LK_INVALID_TOKEN_RESPONSE'
  | 'LK_STORAGE'
  | 'LK_STORAGE_CORRUPT'
  | 'LK_CREDENTIAL_INVALIDATED'
  | 'LK_SIGNED_OUT'
  | 'LK_LOCKED'
  | 'LK_ACCOUNT'

abstract class BaseError<C extends LatchkeyErrorCode> extends Error {
  abstract readonly code: C
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

export type NetworkErrorDetail = 'unreachable' | 'server_error' | 'rate_limited' | 'malformed_response'

/** The server could not be reached or answered in a way that says "try again later". */
export class NetworkError extends BaseError<'LK_NETWORK'> {
  readonly code = 'LK_NETWORK' as const
  readonly detail: NetworkErrorDetail
  readonly status: number | undefined
  constructor(detail: NetworkErrorDetail, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options)
    this.detail = detail
    this.status = options?.status
  }
}

/** A request (refresh, revoke) took longer than its configured timeout. Network-class. */
export class TimeoutError extends BaseError<'LK_TIMEOUT'> {
  readonly code = 'LK_TIMEOUT' as const
  readonly timeoutMs: number
  constructor(timeoutMs: number) {
    super(`request timed out after ${timeoutMs} ms`)
    this.timeoutMs = timeoutMs
  }
}

/** The authorization server definitively refused the refresh token (RFC 6749 §5.2 invalid_grant). */
export class RefreshRejectedError extends BaseError<'LK_REFRESH_REJECTED'> {
  readonly code = 'LK_REFRESH_REJECTED' as const
  readonly oauthError: string | undefined
  constructor(message = 'refresh token rejected', options?: { cause?: unknown; oauthError?: string }) {
    super(message, options)
    this.oauthError = options?.oauthError
  }
}

/**
 * Any other RFC 6749 §5.2 error, or an unexpected HTTP status, from the authorization server; also
 * what `signIn` throws when handed an error body instead of a token response.
 */
export class OAuthError extends BaseError<'LK_OAUTH'> {
  readonly code = 'LK_OAUTH' as const
  readonly error: string
  /** The server's `error_description`, when it sent one. */
  readonly description: string | undefined
  readonly status: number | undefined
  constructor(error: string, options?: { status?: number; description?: string }) {
    super(options?.description ? `${error}: ${options.description}` : error)
    this.error = error
    this.description = options?.description
    this.status = options?.status
  }
}

/**
 * The authorization server refused the client itself (RFC 6749 §5.2 `invalid_client`: unknown
 * client, wrong secret, wrong authentication method) or its DPoP set-up (a proof it will not
 * accept). A configuration error: the session is kept, and it is not retried with backoff, since
 * retrying cannot fix it; the app's developer must.
 */
export class ClientConfigError extends BaseError<'LK_CLIENT_CONFIG'> {
  readonly code = 'LK_CLIENT_CONFIG' as const
  readonly error: string
  readonly status: number | undefined
  constructor(error: string, options?: { status?: number; description?: string }) {
    super(`the authorization server refused the client configuration (${error})${options?.description ? `: ${options.description}` : ''}`)
    this.error = error
    this.status = options?.status
  }
}

/** A token response (RFC 6749 §5.1) given to `signIn` is missing or mistyping a field. */
export class InvalidTokenResponseError extends BaseError<'LK_INVALID_TOKEN_RESPONSE'> {
  readonly code = 'LK_INVALID_TOKEN_RESPONSE' as const
}

export type StorageOperation = 'getItem' | 'setItem' | 'removeItem'

/** The storage adapter threw; the session in memory is unchanged. */
export class StorageError extends BaseError<'LK_STORAGE'> {
  readonly code = 'LK_STORAGE' as const
  readonly operation: StorageOperation
  constructor(operation: StorageOperation, options?: { cause?: unknown }) {
    super(`storage ${operation} failed`, options)
    this.operation = operation
  }
}

/** The stored session record could not be decoded; it is treated as signed out. */
export class StorageCorruptError extends BaseError<'LK_STORAGE_CORRUPT'> {
  readonly code = 'LK_STORAGE_CORRUPT' as const
}

/**
 * The storage key was invalidated (biometric enrolment changed, restored from a backup).
 * Adapters signal it by throwing any error whose `code` is 'LK_CREDENTIAL_INVALIDATED'.
 */
export class CredentialInvalidatedError extends BaseError<'LK_CREDENTIAL_INVALIDATED'> {
  readonly code = 'LK_CREDENTIAL_INVALIDATED' as const
  constructor(options?: { cause?: unknown }) {
    super('stored credential was invalidated', options)
  }
}

export class SignedOutError extends BaseError<'LK_SIGNED_OUT'> {
  readonly code = 'LK_SIGNED_OUT' as const
  constructor(message = 'not signed in') {
    super(message)
  }
}

export class LockedError extends BaseError<'LK_LOCKED'> {
  readonly code = 'LK_LOCKED' as const
  constructor() {
    super('session is locked')
  }
}

/**
 * Why the server refused a password change or an account deletion (`AccountError.reason`): the
 * password given as proof is wrong, the new one breaks the server's password policy (NIST SP
 * 800-63B-4 §3.1.1.2: the rule is named), too many attempts, the session has ended, or the
 * request itself was refused.
 */
export type AccountErrorReason =
  | 'wrong_password'
  | 'password_too_short'
  | 'password_too_long'
  | 'password_common'
  | 'password_contains_context'
  | 'rate_limited'
  | 'session_ended'
  | 'invalid_request'
  /** A password-reset or email-verification code that is wrong, expired, used up or dead after too many guesses: ask for a new one. */
  | 'invalid_code'

/** A password change or account deletion the server refused; `reason` says why (switch on it). */
export class AccountError extends BaseError<'LK_ACCOUNT'> {
  readonly code = 'LK_ACCOUNT' as const
  readonly reason: AccountErrorReason
  readonly status: number
  /** The server's `error_description` (English, for logs; show your own words per `reason`). */
  readonly description: string | undefined
  /** Seconds to wait, with `rate_limited` (the server's Retry-After). */
  readonly retryAfter: number | undefined
  constructor(reason: AccountErrorReason, options: { status: number; description?: string; retryAfter?: number }) {
    super(options.description ? `${reason}: ${options.description}` : reason)
    this.reason = reason
    this.status = options.status
    this.description = options.description
    this.retryAfter = options.retryAfter
  }
}

export type LatchkeyError =
  | AccountError
  | NetworkError
  | TimeoutError
  | RefreshRejectedError
  | OAuthError
  | ClientConfigError
  | InvalidTokenResponseError
  | StorageError
  | StorageCorruptError
  | CredentialInvalidatedError
  | SignedOutError
  | LockedError

const codes: ReadonlySet<string> = new Set<LatchkeyErrorCode>([
  'LK_NETWORK', 'LK_TIMEOUT', 'LK_REFRESH_REJECTED', 'LK_OAUTH', 'LK_CLIENT_CONFIG', 'LK_INVALID_TOKEN_RESPONSE',
  'LK_STORAGE', 'LK_STORAGE_CORRUPT', 'LK_CREDENTIAL_INVALIDATED', 'LK_SIGNED_OUT', 'LK_LOCKED', 'LK_ACCOUNT',
])

export function isLatchkeyError(value: unknown): value is LatchkeyError {
  return value instanceof Error && codes.has((value as { code?: unknown }).code as string)
}

/** Network-class failures keep the session and are retried. */
export function isNetworkError(value: unknown): value is NetworkError | TimeoutError {
  return value instanceof NetworkError || value instanceof TimeoutError
}

export function hasCode(value: unknown, code: string): boolean {
  return typeof value === 'object' && value !== null && (value as { code?: unknown }).code === code
}
