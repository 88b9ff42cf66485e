// createEmailApi: the documented requests, and the server's refusals as typed errors.
import { describe, expect, it } from 'vitest'
import { AccountError, NetworkError } from '../errors/errors.js'
import { createEmailApi } from './email.js'

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => Response.json(body, { status, headers })

function recorder(answer: () => Response | Promise<Response>) {
  const requests: Array<{ url: string; body: unknown }> = []
  const f = async (input: Request | string | URL, init?: RequestInit) => {
    requests.push({ url: String(input), body: JSON.parse(String(init?.body)) })
    return answer()
  }
  return { f, requests }
}

describe('createEmailApi', () => {
  it('sends the documented bodies: reset without a session, verification with it', async () => {
    const plain = recorder(() => json(202, { ok: true }))
    const authed = recorder(() => json(200, { ok: true, alreadyVerified: true, signedOut: 3 }))
    const api = createEmailApi({ baseUrl: 'https://auth.example/', fetch: plain.f as typeof fetch, session: { fetch: authed.f } })
    await api.requestPasswordReset({ email: 'a@example.com' })
    expect(plain.requests[0]).toEqual({ url: 'https://auth.example/auth/password-reset/request', body: { email: 'a@example.com' } })
    expect(await api.requestEmailVerification()).toEqual({ alreadyVerified: true })
    await api.verifyEmail({ code: '12345678' })
    expect(authed.requests).toEqual([
      { url: 'https://auth.example/auth/verify-email/request', body: {} },
      { url: 'https://auth.example/auth/verify-email', body: { code: '12345678' } },
    ])
    const done = recorder(() => json(200, { ok: true, signedOut: 2 }))
    expect(await createEmailApi({ baseUrl: 'https://auth.example', fetch: done.f as typeof fetch }).resetPassword({ email: 'a@example.com', code: '1', newPassword: 'pw' })).toEqual({ signedOut: 2 })
    expect(done.requests[0]!.body).toEqual({ email: 'a@example.com', code: '1', new_password: 'pw' })
  })

  it('verification with `email` goes without the session', async () => {
    const plain = recorder(() => json(202, { ok: true }))
    const authed = recorder(() => json(200, { ok: true }))
    const api = createEmailApi({ baseUrl: 'https://auth.example', fetch: plain.f as typeof fetch, session: { fetch: authed.f } })
    await api.requestEmailVerification({ email: 'a@example.com' })
    await api.verifyEmail({ email: 'a@example.com', code: '12345678' })
    expect(authed.requests).toEqual([])
    expect(plain.requests).toEqual([
      { url: 'https://auth.example/auth/verify-email/request', body: { email: 'a@example.com' } },
      { url: 'https://auth.example/auth/verify-email', body: { email: 'a@example.com', code: '12345678' } },
    ])
  })

  it.each([
    ['a wrong code', 400, { error: 'invalid_code' }, 'invalid_code'],
    ['a policy reason', 400, { error: 'invalid_password', reason: 'password_common' }, 'password_common'],
    ['a bad request', 400, { error: 'invalid_request' }, 'invalid_request'],
    ['too many', 429, { error: 'rate_limited' }, 'rate_limited'],
  ])('%s is an AccountError with that reason', async (_n, status, body, reason) => {
    const r = recorder(() => json(status, body))
    const e = await createEmailApi({ baseUrl: 'https://auth.example', fetch: r.f as typeof fetch })
      .resetPassword({ email: 'a@example.com', code: '1', newPassword: 'pw' })
      .catch((x: unknown) => x)
    expect(e).toBeInstanceOf(AccountError)
    expect(e).toMatchObject({ reason, status })
  })

  it('an unreachable server is a NetworkError; verification without a session is a programming error', async () => {
    const api = createEmailApi({ baseUrl: 'https://auth.example', fetch: (() => Promise.reject(new TypeError('fetch failed'))) as typeof fetch })
    await expect(api.requestPasswordReset({ email: 'a@example.com' })).rejects.toBeInstanceOf(NetworkError)
    await expect(api.verifyEmail({ code: '1' })).rejects.toThrow(/need `session`/)
  })
})
