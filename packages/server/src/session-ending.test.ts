// Security review, finding 8: a revoked session's access token could still sign out every other
// session (`/auth/sign-out-all` answered 200 for it). Session-ending requests need a live session
// of the caller's own (OWASP ASVS 5.0 V7.4.1), with the per-request session check on or off;
// signing out one's own, already ended session stays idempotent.
import { describe, expect, test } from 'vitest'
import { testBackends } from './test-support/databases.js'
import { PASSWORD, postJson, refresh, serverForSuite, sidOf, signUp, type Pair } from './test-support/server.js'

describe.each(testBackends())('session-ending endpoints on $name', (backend) => {
  describe.each([
    ['on', true],
    ['off', false],
  ])('with the session check on access %s', (_label, checkSessionOnAccess) => {
    const suite = serverForSuite(backend, { rateLimit: false, checkSessionOnAccess })

    const bearer = (p: Pair) => ({ authorization: `Bearer ${p.access_token}` })
    const revokedAt = async (p: Pair) =>
      (await suite.server.db.selectFrom('sessions').select('revoked_at').where('id', '=', sidOf(p.access_token)).executeTakeFirstOrThrow()).revoked_at

    test("a revoked session's access token cannot sign out the others (sign-out-all, sign-out-others, remote revoke); its own sign-out stays idempotent", async () => {
      const base = suite.server.url
      const a = await signUp(base, undefined, 'phone')
      const signIn = async (device: string) => (await (await postJson(base, '/auth/sign-in', { email: a.email, password: PASSWORD, device })).json()) as Pair
      const b = await signIn('tablet')
      expect((await postJson(base, '/auth/sign-out', {}, bearer(a))).status).toBe(200)
      expect(await revokedAt(a)).not.toBeNull()

      for (const attempt of [
        () => fetch(`${base}/auth/sign-out-all`, { method: 'POST', headers: bearer(a) }),
        () => fetch(`${base}/auth/sign-out-others`, { method: 'POST', headers: bearer(a) }),
        () => fetch(`${base}/auth/sessions/${sidOf(b.access_token)}`, { method: 'DELETE', headers: bearer(a) }),
      ]) {
        const res = await attempt()
        expect(res.status).toBe(401)
        expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)
        expect(await res.json()).toMatchObject({ error: 'invalid_token' })
      }
      expect(await revokedAt(b)).toBeNull()
      expect((await refresh(base, b.refresh_token)).status).toBe(200)

      // Signing out the already ended session again is still fine.
      expect((await postJson(base, '/auth/sign-out', {}, bearer(a))).status).toBe(200)
    })

    test('the liveness check and the revocation are one step: a session that ends after it was checked cannot end the others', async () => {
      const base = suite.server.url
      const service = suite.server.service
      const a = await signUp(base, undefined, 'phone')
      const b = (await (await postJson(base, '/auth/sign-in', { email: a.email, password: PASSWORD, device: 'tablet' })).json()) as Pair
      // The request passed its check (as the route's authenticate does) ...
      const caller = await service.authenticate(a.access_token, { live: true })
      // ... and then its session ended (reuse detection, or a sign-out elsewhere) before it acted.
      await service.signOut(caller, null)
      for (const act of [() => service.signOutMany(caller, 'all', null), () => service.signOutMany(caller, 'others', null), () => service.deleteSession(caller, sidOf(b.access_token), null)]) {
        await expect(act()).rejects.toMatchObject({ status: 401, error: 'invalid_token' })
      }
      expect(await revokedAt(b)).toBeNull()
    })

    test('a live session still signs out the others and all', async () => {
      const base = suite.server.url
      const a = await signUp(base, undefined, 'phone')
      const signIn = async (device: string) => (await (await postJson(base, '/auth/sign-in', { email: a.email, password: PASSWORD, device })).json()) as Pair
      const b = await signIn('tablet')
      const c = await signIn('laptop')
      const d = await signIn('desktop')
      expect((await fetch(`${base}/auth/sessions/${sidOf(b.access_token)}`, { method: 'DELETE', headers: bearer(a) })).status).toBe(200)
      expect(await (await fetch(`${base}/auth/sign-out-others`, { method: 'POST', headers: bearer(a) })).json()).toEqual({ ok: true, signedOut: 2 })
      expect(await revokedAt(c)).not.toBeNull()
      expect(await revokedAt(d)).not.toBeNull()
      expect(await (await fetch(`${base}/auth/sign-out-all`, { method: 'POST', headers: bearer(a) })).json()).toEqual({ ok: true, signedOut: 1 })
      expect(await revokedAt(a)).not.toBeNull()
    })
  })
})
