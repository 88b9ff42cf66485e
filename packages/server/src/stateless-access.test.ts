// With `checkSessionOnAccess: false` (env LATCHKEY_SESSION_CHECK=off) the server behaves like any
// stateless resource server: after reuse detection revokes a session, that session's access tokens
// still pass /me until they expire (RFC 9068 §4: a JWT access token is self-contained), while every
// refresh of the session fails with invalid_grant. The default (session checked on /me, so a
// revoked session's tokens are refused at once) is proven in suite.server.test.ts.
import { describe, expect, test } from 'vitest'
import { verifyAccessToken } from './resource.js'
import { countAuditEvents } from './store/audit.js'
import { testBackends } from './test-support/databases.js'
import { TestClock, getMe, postForm, serverForSuite, refresh, sidOf, signUp, type Pair } from './test-support/server.js'

const GRACE = 2
const ACCESS_TTL = 60
const API = 'https://orders.example.com'

describe.each(testBackends())('stateless access tokens on $name', (backend) => {
  const clock = new TestClock()
  const suite = serverForSuite(backend, { refreshGrace: GRACE, accessTtl: ACCESS_TTL, now: clock.now, checkSessionOnAccess: false, rateLimit: false, resources: [API] })

  test('after reuse revokes the session, /me still passes with its access tokens until they expire; every refresh fails', async () => {
    const base = suite.server.url
    const p0 = await signUp(base)
    const sid = sidOf(p0.access_token)
    const p1 = (await (await refresh(base, p0.refresh_token)).json()) as Pair
    // The previous token inside the window: the current pair, its access token for a resource server.
    const forApi = (await (await postForm(base, '/oauth/token', { grant_type: 'refresh_token', refresh_token: p0.refresh_token, resource: API })).json()) as Pair
    clock.advance(GRACE + 1)
    const late = await refresh(base, p0.refresh_token)
    expect(late.status).toBe(400)
    expect(await late.json()).toMatchObject({ error: 'invalid_grant' })
    const row = await suite.server.db.selectFrom('sessions').select(['revoked_at', 'revoke_reason']).where('id', '=', sid).executeTakeFirstOrThrow()
    expect(row.revoke_reason).toBe('reuse')
    expect(await countAuditEvents(suite.server.db, 'refresh_reuse_detected', { sessionId: sid })).toBe(1)

    // Access tokens of the revoked session: still accepted here and by a resource suite.server.
    expect((await getMe(base, p1.access_token)).status).toBe(200)
    expect((await getMe(base, p0.access_token)).status).toBe(200)
    const claims = await verifyAccessToken(forApi.access_token, { jwksUrl: `${base}/.well-known/jwks.json`, issuer: suite.server.issuer, audience: API })
    expect(claims.sid).toBe(sid)
    // The refresh side is closed for good.
    expect(await (await refresh(base, p1.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' })

    // Until expiry, and no longer.
    clock.advance(ACCESS_TTL + 10)
    const expired = await getMe(base, p1.access_token)
    expect(expired.status).toBe(401)
    expect(expired.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)
  })
})
