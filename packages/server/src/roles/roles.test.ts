import { Hono } from 'hono'
import { describe, expect, test } from 'vitest'
import { signAccessToken } from '../crypto/jwt.js'
import { requireAccessToken, requireRole, type AccessTokenClaims } from '../resource.js'
import { countAuditEvents } from '../store/audit.js'
import { testBackends } from '../test-support/databases.js'
import { postForm, refresh, serverForSuite, signUp, type Pair } from '../test-support/server.js'
import { grantRole, revokeRole } from './store.js'

const API = 'https://reports.example.com'

/** The payload of a JWT, not verified (what a client or an attacker sees). */
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as AccessTokenClaims

/** The same token with its payload edited and the original signature kept. */
function tamper(jwt: string, edit: (c: AccessTokenClaims) => void): string {
  const [h, p, s] = jwt.split('.')
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as AccessTokenClaims
  edit(claims)
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`
}

const adminUsers = (base: string, token: string | undefined, query = '') =>
  fetch(`${base}/admin/users${query}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })

async function refreshed(base: string, pair: Pair, resource?: string): Promise<Pair> {
  const res = resource ? await postForm(base, '/oauth/token', { grant_type: 'refresh_token', refresh_token: pair.refresh_token, resource }) : await refresh(base, pair.refresh_token)
  expect(res.status).toBe(200)
  return (await res.json()) as Pair
}

for (const backend of testBackends()) {
  describe(`roles (${backend.name})`, () => {
    const suite = serverForSuite(backend, { resources: [API] })
    const base = () => suite.server.url
    const grant = (email: string, role: string) => grantRole(suite.server.db, { email, role, by: 'test', now: new Date() })
    const revoke = (email: string, role: string) => revokeRole(suite.server.db, { email, role, by: 'test', now: new Date() })
    /** A resource server (RFC 8707 audience API) that requires the `admin` role in the token. */
    const resourceServer = () => {
      const api = new Hono<{ Variables: { accessToken: AccessTokenClaims } }>()
      const jwks = { jwksUrl: `${base()}/.well-known/jwks.json`, issuer: suite.server.issuer, audience: API }
      api.get('/report', requireAccessToken({ ...jwks, roles: ['admin'] }), (c) => c.json({ roles: c.get('accessToken').roles }))
      api.get('/any', requireAccessToken(jwks), requireRole('auditor'), (c) => c.json({ ok: true }))
      return api
    }

    test('a user without the admin role gets 403 insufficient_scope from /admin/users, even with a hand-made request', async () => {
      const user = await signUp(base())
      expect(claimsOf(user.access_token).roles).toEqual([])
      const res = await adminUsers(base(), user.access_token)
      expect(res.status).toBe(403)
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_scope"/)
      expect(await res.json()).toMatchObject({ error: 'insufficient_scope' })
      // Claiming the role in the token does not help: the signature no longer holds (401), and the route reads the table anyway.
      const forged = await adminUsers(base(), tamper(user.access_token, (c) => (c.roles = ['admin'])))
      expect(forged.status).toBe(401)
      expect(forged.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)
      const none = await adminUsers(base(), undefined)
      expect(none.status).toBe(401)
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/)
    })

    test('a grant works at once on our endpoint, reaches the claim at the next refresh; a revoke likewise', async () => {
      const admin = await signUp(base())
      expect((await adminUsers(base(), admin.access_token)).status).toBe(403)
      const granted = await grant(admin.email, 'admin')
      expect(granted).toMatchObject({ changed: true, roles: ['admin'] })
      // The old token's claim still says [] but our endpoint checks the current roles.
      expect(claimsOf(admin.access_token).roles).toEqual([])
      const ok = await adminUsers(base(), admin.access_token)
      expect(ok.status).toBe(200)
      expect(ok.headers.get('cache-control')).toBe('no-store')
      const page = (await ok.json()) as { users: Array<{ email: string; roles: string[] }> }
      expect(page.users.find((u) => u.email === admin.email)?.roles).toEqual(['admin'])
      const next = await refreshed(base(), admin)
      expect(claimsOf(next.access_token).roles).toEqual(['admin'])

      expect(await revoke(admin.email, 'admin')).toMatchObject({ changed: true, roles: [] })
      // At once on our endpoint, although the token in hand still claims admin.
      expect(claimsOf(next.access_token).roles).toEqual(['admin'])
      expect((await adminUsers(base(), next.access_token)).status).toBe(403)
      const after = await refreshed(base(), next)
      expect(claimsOf(after.access_token).roles).toEqual([])
      expect(await countAuditEvents(suite.server.db, 'role_granted', { userId: granted.userId })).toBe(1)
      expect(await countAuditEvents(suite.server.db, 'role_revoked', { userId: granted.userId })).toBe(1)
      // Idempotent, not audited twice.
      expect(await revoke(admin.email, 'admin')).toMatchObject({ changed: false })
      expect(await countAuditEvents(suite.server.db, 'role_revoked', { userId: granted.userId })).toBe(1)
    })

    test('requireAccessToken({ roles }) on a resource server: the claim decides, tampering fails the signature, a revoke lands at the next refresh', async () => {
      const api = resourceServer()
      const user = await signUp(base(), undefined, undefined, API)
      const call = (path: string, token: string) => api.request(path, { headers: { authorization: `Bearer ${token}` } })
      const denied = await call('/report', user.access_token)
      expect(denied.status).toBe(403)
      expect(denied.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", error_description="requires the role admin"')
      const forged = await call('/report', tamper(user.access_token, (c) => (c.roles = ['admin'])))
      expect(forged.status).toBe(401)
      expect(forged.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)

      await grant(user.email, 'admin')
      // The resource server is stateless: the old token is still without the role.
      expect((await call('/report', user.access_token)).status).toBe(403)
      const withRole = await refreshed(base(), user, API)
      const ok = await call('/report', withRole.access_token)
      expect(ok.status).toBe(200)
      expect(await ok.json()).toEqual({ roles: ['admin'] })
      expect((await call('/any', withRole.access_token)).status).toBe(403)

      await revoke(user.email, 'admin')
      const without = await refreshed(base(), withRole, API)
      expect((await call('/report', without.access_token)).status).toBe(403)
    })

    test('/admin/users pages by email; a bad limit is a 400', async () => {
      const admin = await signUp(base())
      await grant(admin.email, 'admin')
      await grant(admin.email, 'support')
      const seen: string[] = []
      let after: string | null = null
      for (let i = 0; i < 100; i++) {
        const res = await adminUsers(base(), admin.access_token, `?limit=2${after ? `&after=${encodeURIComponent(after)}` : ''}`)
        expect(res.status).toBe(200)
        const page = (await res.json()) as { users: Array<{ email: string; roles: string[] }>; next: string | null }
        expect(page.users.length).toBeLessThanOrEqual(2)
        seen.push(...page.users.map((u) => u.email))
        if (page.users.some((u) => u.email === admin.email)) expect(page.users.find((u) => u.email === admin.email)!.roles).toEqual(['admin', 'support'])
        after = page.next
        if (!after) break
      }
      expect(seen).toEqual([...seen].sort())
      expect(new Set(seen).size).toBe(seen.length)
      expect(seen).toContain(admin.email)
      for (const q of ['?limit=0', '?limit=101', '?limit=abc', '?limit=-1', '?after=']) {
        const res = await adminUsers(base(), admin.access_token, q)
        expect(res.status, q).toBe(400)
      }
    })

    test('a correctly signed token whose roles claim is not a list of names is refused (invalid_claims), here and at a resource server', async () => {
      const user = await signUp(base(), undefined, undefined, API)
      const o = suite.server.service.o
      const claims = claimsOf(user.access_token)
      const mint = (roles: unknown, audience: string) =>
        signAccessToken(o.keys, { issuer: o.issuer, audience, userId: claims.sub, sessionId: claims.sid, roles: roles as string[], ttlSeconds: 60, now: new Date() })
      const good = await mint(['admin'], API)
      expect((await resourceServer().request('/report', { headers: { authorization: `Bearer ${good}` } })).status).toBe(200)
      for (const roles of ['admin', [1], [null], { admin: true }]) {
        const own = await fetch(`${base()}/me`, { headers: { authorization: `Bearer ${await mint(roles, o.audience)}` } })
        expect(own.status, JSON.stringify(roles)).toBe(401)
        const res = await resourceServer().request('/report', { headers: { authorization: `Bearer ${await mint(roles, API)}` } })
        expect(res.status, JSON.stringify(roles)).toBe(401)
      }
    })

    test('role names are validated; unknown accounts are refused', async () => {
      const user = await signUp(base())
      for (const bad of ['Admin', '', '1admin', 'a b', 'x'.repeat(33), 'ad\nmin']) {
        await expect(grant(user.email, bad), JSON.stringify(bad)).rejects.toThrow(/a role is 1 to 32 characters/)
      }
      await expect(grant('nobody-here@example.com', 'admin')).rejects.toThrow(/no account has the email/)
      expect(await grant(user.email.toUpperCase(), 'a'.repeat(32))).toMatchObject({ changed: true })
    })
  })
}
