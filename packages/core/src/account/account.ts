import { AccountError, NetworkError, isLatchkeyError, type AccountErrorReason } from '../errors/errors.js'
import type { SessionClient } from '../session/client.js'

export interface AccountApiOptions {
  /** The session whose access token authorizes the calls, and which is signed out locally when they end it. */
  session: Pick<SessionClient, 'fetch' | 'signOut'>
  /** The Latchkey server's base URL, e.g. `https://auth.example.com` (its `/auth/...` endpoints). */
  baseUrl: string
  /**
   * Adds to each request's options: `@latchkey/expo`'s `authRequestInit` (cookie delivery on the
   * web, so a call that ends the session also clears the refresh cookie).
   */
  requestInit?: (init: RequestInit) => RequestInit
}

/** Which sessions a password change ends: the others (the server's default), all of them (this one too), or none. */
export type EndSessions = 'others' | 'all' | 'none'

export interface AccountApi {
  /**
   * POST /auth/change-password. Resolves with how many sessions ended; when this session ended too
   * (`endSessions: 'all'`) it is signed out locally first (reason `password_changed`). Rejects with
   * `AccountError` (`wrong_password`, a policy reason, `rate_limited`, `session_ended`, …) or a
   * network-class error; the session is kept then.
   */
  changePassword(input: { currentPassword: string; newPassword: string; endSessions?: EndSessions }): Promise<{ signedOut: number; sessionEnded: boolean }>
  /**
   * POST /auth/delete-account, with the password as a fresh proof of ownership. On success the
   * session is signed out locally (reason `account_deleted`: storage cleared, sign-out cleanups run;
   * no revocation call, the server has ended every session already). Rejects like `changePassword`.
   */
  deleteAccount(input: { password: string }): Promise<{ signedOut: number }>
}

const POLICY_REASONS: ReadonlySet<string> = new Set(['password_too_short', 'password_too_long', 'password_common', 'password_contains_context'])

/** The calls an app needs to manage the signed-in account (issue 13), on top of a session client. */
export function createAccountApi(options: AccountApiOptions): AccountApi {
  const base = options.baseUrl.replace(/\/+$/, '')
  const withInit = options.requestInit ?? ((init: RequestInit) => init)

  const post = async (path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    let response: Response
    try {
      response = await options.session.fetch(
        `${base}${path}`,
        withInit({ method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) }),
      )
    } catch (cause) {
      // Signed out, locked, refresh rejected: the session's own errors pass through as they are.
      if (isLatchkeyError(cause)) throw cause
      throw new NetworkError('unreachable', 'could not reach the server', { cause })
    }
    const answer = await response.json().catch(() => undefined)
    if (response.ok && typeof answer === 'object' && answer !== null) return answer as Record<string, unknown>
    throw errorFrom(response, answer)
  }

  return {
    async changePassword({ currentPassword, newPassword, endSessions }) {
      const answer = await post('/auth/change-password', { current_password: currentPassword, new_password: newPassword, ...(endSessions ? { end_sessions: endSessions } : {}) })
      const result = { signedOut: numberOf(answer.signedOut), sessionEnded: answer.sessionEnded === true }
      if (result.sessionEnded) await options.session.signOut({ reason: 'password_changed', revoke: false })
      return result
    },
    async deleteAccount({ password }) {
      const answer = await post('/auth/delete-account', { password })
      await options.session.signOut({ reason: 'account_deleted', revoke: false })
      return { signedOut: numberOf(answer.signedOut) }
    },
  }
}

const numberOf = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0)

/** The server's RFC 6749 §5.2-shaped refusal as an `AccountError`; 5xx and unreadable answers are network-class. */
export function errorFrom(response: Response, answer: unknown): Error {
  const status = response.status
  const body = (typeof answer === 'object' && answer !== null ? answer : {}) as { error?: unknown; error_description?: unknown; reason?: unknown }
  const description = typeof body.error_description === 'string' ? body.error_description : undefined
  const withDescription = description === undefined ? {} : { description }
  if (status === 429) {
    const retryAfter = Number(response.headers.get('Retry-After'))
    return new AccountError('rate_limited', { status, ...withDescription, ...(retryAfter > 0 ? { retryAfter } : {}) })
  }
  if (status >= 500 || status === 408) return new NetworkError('server_error', `the server answered ${status}`, { status })
  let reason: AccountErrorReason = 'invalid_request'
  if (body.error === 'invalid_password' && typeof body.reason === 'string' && POLICY_REASONS.has(body.reason)) reason = body.reason as AccountErrorReason
  else if (body.error === 'invalid_credentials') reason = 'wrong_password'
  else if (body.error === 'invalid_code') reason = 'invalid_code'
  else if (status === 401) reason = 'session_ended'
  else if (answer === undefined) return new NetworkError('malformed_response', `the server answered ${status} without a JSON body`, { status })
  return new AccountError(reason, { status, ...withDescription })
}
