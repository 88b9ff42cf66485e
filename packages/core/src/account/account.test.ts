// createAccountApi's mapping of the server's answers to typed errors, and when it signs out locally.
import { describe, expect, it } from 'vitest'
import { AccountError, NetworkError, SignedOutError } from '../errors/errors.js'
import { createAccountApi } from './account.js'

/** A session stand-in: `fetch` answers with `answer`, `signOut` calls are recorded. */
function fakeSession(answer: () => Response | Promise<Response>) {
  const requests: Array<{ url: string; body: unknown }> = []
  const signOuts: unknown[] = []
  const session = {
    fetch: async (input: Request | string | URL, init?: RequestInit) => {
      requests.push({ url: String(input), body: JSON.parse(String(init?.body)) })
      return answer()
    },
    signOut: async (options?: unknown) => void signOuts.push(options),
  }
  return { session, requests, signOuts }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => Response.json(body, { status, headers })

describe('createAccountApi', () => {
  it('sends the documented bodies to the documented paths', async () => {
    const { session, requests } = fakeSession(() => json(200, { ok: true, signedOut: 2, sessionEnded: false }))
    const api = createAccountApi({ session, baseUrl: 'https://auth.example/' })
    expect(await api.changePassword({ currentPassword: 'a', newPassword: 'b', endSessions: 'none' })).toEqual({ signedOut: 2, sessionEnded: false })
    expect(requests[0]).toEqual({ url: 'https://auth.example/auth/change-password', body: { current_password: 'a', new_password: 'b', end_sessions: 'none' } })
    await api.deleteAccount({ password: 'p' })
    expect(requests[1]).toEqual({ url: 'https://auth.example/auth/delete-account', body: { password: 'p' } })
  })

  it.each([
    ['a policy reason', 400, { error: 'invalid_password', error_description: 'new_password: is too common', reason: 'password_common' }, 'password_common'],
    ['an unknown policy reason', 400, { error: 'invalid_password', reason: 'password_from_the_future' }, 'invalid_request'],
    ['a wrong password', 403, { error: 'invalid_credentials', error_description: 'the password is incorrect' }, 'wrong_password'],
    ['an ended session', 401, { error: 'invalid_token' }, 'session_ended'],
    ['a bad request', 400, { error: 'invalid_request', error_description: 'password: must be a string' }, 'invalid_request'],
  ])('%s is an AccountError with that reason, and the session is kept', async (_name, status, body, reason) => {
    const { session, signOuts } = fakeSession(() => json(status, body))
    const e = await createAccountApi({ session, baseUrl: 'https://auth.example' }).deleteAccount({ password: 'p' }).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(AccountError)
    expect(e).toMatchObject({ code: 'LK_ACCOUNT', reason, status })
    expect(signOuts).toEqual([])
  })

  it('429 is rate_limited with the Retry-After seconds', async () => {
    const { session } = fakeSession(() => json(429, { error: 'rate_limited' }, { 'Retry-After': '42' }))
    await expect(createAccountApi({ session, baseUrl: 'https://auth.example' }).changePassword({ currentPassword: 'a', newPassword: 'b' })).rejects.toMatchObject({
      reason: 'rate_limited',
      retryAfter: 42,
    })
  })

  it('5xx, an unreachable server and a non-JSON refusal are network-class; a session error passes through', async () => {
    const cases: Array<[() => Response | Promise<Response>, unknown]> = [
      [() => json(503, { error: 'temporarily_unavailable' }), { code: 'LK_NETWORK', detail: 'server_error', status: 503 }],
      [() => Promise.reject(new TypeError('fetch failed')), { code: 'LK_NETWORK', detail: 'unreachable' }],
      [() => new Response('<html>bad gateway</html>', { status: 404 }), { code: 'LK_NETWORK', detail: 'malformed_response' }],
      [() => Promise.reject(new SignedOutError()), { code: 'LK_SIGNED_OUT' }],
    ]
    for (const [answer, expected] of cases) {
      const { session, signOuts } = fakeSession(answer)
      const e = await createAccountApi({ session, baseUrl: 'https://auth.example' }).deleteAccount({ password: 'p' }).catch((x: unknown) => x)
      expect(e).toMatchObject(expected as object)
      if ((expected as { code: string }).code === 'LK_NETWORK') expect(e).toBeInstanceOf(NetworkError)
      expect(signOuts).toEqual([])
    }
  })

  it('signs out locally, without revocation, after a deletion and after a change that ended this session', async () => {
    const deleted = fakeSession(() => json(200, { ok: true, deleted: true, signedOut: 3 }))
    expect(await createAccountApi({ session: deleted.session, baseUrl: 'https://auth.example' }).deleteAccount({ password: 'p' })).toEqual({ signedOut: 3 })
    expect(deleted.signOuts).toEqual([{ reason: 'account_deleted', revoke: false }])
    const changed = fakeSession(() => json(200, { ok: true, signedOut: 2, sessionEnded: true }))
    await createAccountApi({ session: changed.session, baseUrl: 'https://auth.example' }).changePassword({ currentPassword: 'a', newPassword: 'b', endSessions: 'all' })
    expect(changed.signOuts).toEqual([{ reason: 'password_changed', revoke: false }])
    const kept = fakeSession(() => json(200, { ok: true, signedOut: 1, sessionEnded: false }))
    await createAccountApi({ session: kept.session, baseUrl: 'https://auth.example' }).changePassword({ currentPassword: 'a', newPassword: 'b' })
    expect(kept.signOuts).toEqual([])
  })
})
