import { AccountError, type AccountErrorReason } from '@latchkey/core'

// Turns the server's RFC 6749 §5.2-shaped errors and network failures into words for people.
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export async function errorFromResponse(res: Response): Promise<ApiError> {
  let code = 'server_error'
  let description = ''
  let reason: string | undefined
  try {
    const body = (await res.json()) as { error?: string; error_description?: string; reason?: string }
    code = body.error ?? code
    description = body.error_description ?? ''
    reason = body.reason
  } catch {
    // not JSON: fall through to the status text
  }
  if (res.status === 429) {
    const wait = Number(res.headers.get('Retry-After') ?? '0')
    const when = wait > 0 ? `in ${wait} second${wait === 1 ? '' : 's'}` : 'in a moment'
    return new ApiError(`Too many attempts. Try again ${when}.`, 429, 'rate_limited')
  }
  if (res.status === 401 && (code === 'invalid_grant' || code === 'invalid_credentials')) {
    return new ApiError('Wrong email or password.', 401, code)
  }
  if (code === 'invalid_password' && reason && reason in PASSWORD_POLICY) {
    return new ApiError(PASSWORD_POLICY[reason as PolicyReason], res.status, code)
  }
  if (res.status === 409) return new ApiError('An account with this email already exists.', 409, code)
  return new ApiError(description || `Request failed (${res.status}).`, res.status, code)
}

type PolicyReason = Extract<AccountErrorReason, `password_${string}`>

/**
 * The rule of the server's password policy that a new password broke (its `reason`), in plain
 * words: the server names the rule so the app can say what to change (NIST SP 800-63B-4 §3.1.1.2).
 */
const PASSWORD_POLICY: Record<PolicyReason, string> = {
  password_too_short: 'This password is too short. Use a longer one: a few words together work well.',
  password_too_long: 'This password is too long. Use a shorter one.',
  password_common: 'This password is too common: it appears in lists of passwords people use most. Choose one that is harder to guess.',
  password_contains_context: 'This password contains your email address or the app’s name. Choose one without them.',
}

/** Why a password change or an account deletion was refused (`AccountError.reason`), in plain words. */
const ACCOUNT: Record<Exclude<AccountErrorReason, PolicyReason>, string> = {
  wrong_password: 'That password is not right.',
  rate_limited: 'Too many attempts. Try again in a moment.',
  session_ended: 'Your session has ended. Please sign in again.',
  invalid_request: 'The request was refused. Check what you typed and try again.',
  invalid_code: 'That code is not right, or it has expired. Ask for a new one.',
}

function describeAccountError(err: AccountError): string {
  if (err.reason === 'rate_limited' && err.retryAfter) return `Too many attempts. Try again in ${err.retryAfter} second${err.retryAfter === 1 ? '' : 's'}.`
  if (err.reason in PASSWORD_POLICY) return PASSWORD_POLICY[err.reason as PolicyReason]
  return ACCOUNT[err.reason as Exclude<AccountErrorReason, PolicyReason>]
}

export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.message
  if (err instanceof AccountError) return describeAccountError(err)
  if (err instanceof TypeError) return 'Cannot reach the server. Check your connection.'
  if (err && typeof err === 'object' && 'code' in err && (err as { code: string }).code === 'LK_NETWORK') {
    return 'Cannot reach the server. Check your connection.'
  }
  return 'Something went wrong. Please try again.'
}
