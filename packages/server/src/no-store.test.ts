// Security review, finding 11: `/me` and `/auth/sessions` answered without `Cache-Control:
// no-store`. Every authenticated response carries it (RFC 9111 §5.2.2.5), errors included, so no
// cache (the browser's own included) keeps account data or tokens.
import { describe, expect, test } from 'vitest'
import { testBackends } from './test-support/databases.js'
import { getMe, postForm, serverForSuite, sidOf, signUp } from './test-support/server.js'

describe.each(testBackends())('Cache-Control on $name', (backend) => {
  const suite = serverForSuite(backend, { rateLimit: false })

  test('every authenticated response carries Cache-Control: no-store (/me, /auth/sessions, sign-out, revocation, errors)', async () => {
    const base = suite.server.url
    const p = await signUp(base)
    const other = await signUp(base)
    const auth = { authorization: `Bearer ${p.access_token}` }
    const responses: Array<[string, Response]> = [
      ['GET /me', await getMe(base, p.access_token)],
      ['GET /me without a token', await fetch(`${base}/me`)],
      ['GET /me with garbage', await getMe(base, 'garbage')],
      ['GET /auth/sessions', await fetch(`${base}/auth/sessions`, { headers: auth })],
      ['GET /auth/sessions without a token', await fetch(`${base}/auth/sessions`)],
      ["DELETE someone else's session", await fetch(`${base}/auth/sessions/${sidOf(other.access_token)}`, { method: 'DELETE', headers: auth })],
      ['POST /auth/sign-out-others', await fetch(`${base}/auth/sign-out-others`, { method: 'POST', headers: auth })],
      ['POST /oauth/revoke', await postForm(base, '/oauth/revoke', { token: other.refresh_token })],
      ['POST /auth/sign-out', await fetch(`${base}/auth/sign-out`, { method: 'POST', headers: auth })],
    ]
    expect(responses.map(([what, res]) => [what, res.headers.get('cache-control')])).toEqual(responses.map(([what]) => [what, 'no-store']))
    expect(responses.map(([, res]) => res.status)).toEqual([200, 401, 401, 200, 401, 404, 200, 200, 200])
  })

  test('public documents keep their caching', async () => {
    const meta = await fetch(`${suite.server.url}/.well-known/oauth-authorization-server`)
    expect(meta.headers.get('cache-control')).toBe('public, max-age=300')
    expect((await fetch(`${suite.server.url}/.well-known/jwks.json`)).headers.get('cache-control')).toBe('public, max-age=60')
  })
})
