import { NetworkError } from '../errors/errors.js'
import type { SessionClient } from '../session/client.js'
import type { TokenResponse } from '../session/token-response.js'
import { errorFrom } from './account.js'

/**
 * What a sign-up answer means for the app: `signed_in` (the answer carried a token pair, now in the
 * session) or `verification_required` (a server that requires a verified address before sign-in
 * answered 202 without tokens: nothing is stored; the code arrives by email, then
 * `emailApi.verifyEmail({ email, code })` and an ordinary sign-in).
 */
export type SignUpResult = { status: 'signed_in' } | { status: 'verification_required'; message?: string }

/**
 * Finishes a sign-up from the server's answer (`POST /auth/sign-up`, sent with
 * `client.signInFetch` when DPoP is on). A refusal rejects with `AccountError` (a password-policy
 * `reason`, `rate_limited`, `invalid_request`), 5xx with `NetworkError`, as `createAccountApi` does.
 */
export async function completeSignUp(session: Pick<SessionClient, 'signIn'>, response: Response): Promise<SignUpResult> {
  const answer: unknown = await response.json().catch(() => undefined)
  if (!response.ok) throw errorFrom(response, answer)
  if (typeof answer !== 'object' || answer === null) {
    throw new NetworkError('malformed_response', `the server answered ${response.status} without a JSON body`, { status: response.status })
  }
  const body = answer as Record<string, unknown>
  // The server's 202 (issue 13, no enumeration through sign-up): the same for new and taken addresses.
  if (response.status === 202 && body.verification_required === true && body.access_token === undefined) {
    return { status: 'verification_required', ...(typeof body.message === 'string' ? { message: body.message } : {}) }
  }
  await session.signIn(body as unknown as TokenResponse)
  return { status: 'signed_in' }
}
