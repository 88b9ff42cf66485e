import { NetworkError, isLatchkeyError } from '../errors/errors.js'
import type { SessionClient } from '../session/client.js'
import { errorFrom } from './account.js'

export interface EmailApiOptions {
  /** The Latchkey server's base URL, e.g. `https://auth.example.com` (its `/auth/...` endpoints). */
  baseUrl: string
  /** The signed-in session, for the verification calls (its access token authorizes them). */
  session?: Pick<SessionClient, 'fetch'>
  /** The fetch of the calls made without a session (password reset); default the global `fetch`. */
  fetch?: typeof fetch
  /** Adds to each request's options (e.g. `@latchkey/expo`'s `authRequestInit`). */
  requestInit?: (init: RequestInit) => RequestInit
}

export interface EmailApi {
  /**
   * POST /auth/password-reset/request: the server emails a code if an account has this address.
   * Resolves alike whether or not one has (the server does not say). Rejects with `AccountError`
   * (`rate_limited`, `invalid_request`) or a network-class error.
   */
  requestPasswordReset(input: { email: string }): Promise<void>
  /**
   * POST /auth/password-reset/complete: the code from the message and a new password. Every session
   * of the account ends (sign in again with the new password). Rejects with `AccountError`
   * (`invalid_code`: ask for a new code; a password-policy reason; `rate_limited`; `invalid_request`).
   */
  resetPassword(input: { email: string; code: string; newPassword: string }): Promise<{ signedOut: number }>
  /**
   * POST /auth/verify-email/request: a new verification code to the signed-in account's address; with
   * `email`, without a session (an account that may not sign in before verifying; the answer is the
   * same for any address, `alreadyVerified` false).
   */
  requestEmailVerification(input?: { email?: string }): Promise<{ alreadyVerified: boolean }>
  /**
   * POST /auth/verify-email: the code from the verification message, for the signed-in account, or
   * with `email` without a session. Rejects with `AccountError` (`invalid_code`, `session_ended`, …).
   */
  verifyEmail(input: { code: string; email?: string }): Promise<void>
}

/** The email flows of issue 13: password reset by code (no session) and email verification (with one). */
export function createEmailApi(options: EmailApiOptions): EmailApi {
  const base = options.baseUrl.replace(/\/+$/, '')
  const withInit = options.requestInit ?? ((init: RequestInit) => init)

  const post = async (path: string, body: Record<string, unknown>, authorized: boolean): Promise<Record<string, unknown>> => {
    const init = withInit({ method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) })
    let response: Response
    try {
      if (authorized) {
        if (!options.session) throw new TypeError('createEmailApi: the email verification calls need `session`')
        response = await options.session.fetch(`${base}${path}`, init)
      } else {
        response = await (options.fetch ?? fetch)(`${base}${path}`, init)
      }
    } catch (cause) {
      if (isLatchkeyError(cause) || cause instanceof TypeError && /createEmailApi/.test(cause.message)) throw cause
      throw new NetworkError('unreachable', 'could not reach the server', { cause })
    }
    const answer = await response.json().catch(() => undefined)
    if (response.ok && typeof answer === 'object' && answer !== null) return answer as Record<string, unknown>
    throw errorFrom(response, answer)
  }

  return {
    async requestPasswordReset({ email }) {
      await post('/auth/password-reset/request', { email }, false)
    },
    async resetPassword({ email, code, newPassword }) {
      const answer = await post('/auth/password-reset/complete', { email, code, new_password: newPassword }, false)
      return { signedOut: typeof answer.signedOut === 'number' ? answer.signedOut : 0 }
    },
    async requestEmailVerification(input) {
      const email = input?.email
      const answer = await post('/auth/verify-email/request', email === undefined ? {} : { email }, email === undefined)
      return { alreadyVerified: answer.alreadyVerified === true }
    },
    async verifyEmail({ code, email }) {
      await post('/auth/verify-email', email === undefined ? { code } : { email, code }, email === undefined)
    },
  }
}
