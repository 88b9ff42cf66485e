// Security review, finding 10: the refresh cookie lost `Secure` behind a proxy. It was decided
// from the Host header, and nginx's default `proxy_set_header Host $proxy_host` makes every request
// look like loopback; it had no prefix either. Now Secure and the name follow the configured issuer
// (RFC 6265bis §4.1.3 cookie prefixes): these servers listen on plain-http loopback, as an app
// behind a TLS-terminating proxy does, and every request arrives with `Host: 127.0.0.1:<port>`.
import { describe, expect, test } from 'vitest'
import { refreshCookiePolicy } from './http/cookies.js'
import { testBackends } from './test-support/databases.js'
import { PASSWORD, postForm, postJson, serverForSuite, signUp, uniqueEmail, type Pair } from './test-support/server.js'

const COOKIE_MODE = { 'X-Latchkey-Token-Delivery': 'cookie' }

/** `name=value` and the attributes of each Set-Cookie of a response. */
function setCookies(res: Response) {
  return res.headers.getSetCookie().map((line) => {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim())
    const eq = pair!.indexOf('=')
    const attributes = Object.fromEntries(attrs.map((a) => [a.split('=')[0]!.toLowerCase(), a.includes('=') ? a.slice(a.indexOf('=') + 1) : true]))
    return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), pair: pair!, attributes }
  })
}

const tokenRequest = (base: string, cookie: string) =>
  fetch(`${base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...COOKIE_MODE }, body: 'grant_type=refresh_token' })

describe('refreshCookiePolicy: decided from the issuer', () => {
  test.each([
    ['https://auth.example.com', { name: '__Host-latchkey_refresh', path: '/', secure: true }],
    ['https://auth.example.com/', { name: '__Host-latchkey_refresh', path: '/', secure: true }],
    ['https://example.com/auth', { name: '__Secure-latchkey_refresh', path: '/auth/oauth', secure: true }],
    ['http://127.0.0.1:8787', { name: 'latchkey_refresh', path: '/oauth', secure: false }],
    ['http://localhost:8787', { name: 'latchkey_refresh', path: '/oauth', secure: false }],
    ['http://[::1]:8787', { name: 'latchkey_refresh', path: '/oauth', secure: false }],
    ['http://app.localhost', { name: 'latchkey_refresh', path: '/oauth', secure: false }],
    // Plain http off loopback stays Secure (browsers then refuse it: serve over https).
    ['http://auth.example.com', { name: '__Host-latchkey_refresh', path: '/', secure: true }],
  ])('%s', (issuer, policy) => {
    expect(refreshCookiePolicy(issuer)).toEqual(policy)
  })
})

describe.each(testBackends())('the refresh cookie on $name', (backend) => {
  describe('https issuer behind a proxy that sends Host: 127.0.0.1', () => {
    const suite = serverForSuite(backend, { rateLimit: false, issuer: 'https://auth.example.com' })

    test('the refresh cookie keeps Secure behind a proxy: __Host-latchkey_refresh, Secure, Path=/, no Domain; rotation and revocation use it', async () => {
      const base = suite.server.url
      const res = await postJson(base, '/auth/sign-up', { email: uniqueEmail('web'), password: PASSWORD }, COOKIE_MODE)
      expect(res.status).toBe(201)
      const [cookie, ...more] = setCookies(res)
      expect(more).toEqual([])
      expect(cookie).toMatchObject({ name: '__Host-latchkey_refresh', attributes: { httponly: true, secure: true, samesite: 'Strict', path: '/' } })
      expect(cookie!.attributes).not.toHaveProperty('domain')
      expect(await res.json()).not.toHaveProperty('refresh_token')

      const rotated = await tokenRequest(base, cookie!.pair)
      expect(rotated.status).toBe(200)
      const [next] = setCookies(rotated)
      expect(next).toMatchObject({ name: '__Host-latchkey_refresh', attributes: { secure: true, path: '/' } })
      expect(next!.value).not.toBe(cookie!.value)

      const revoked = await fetch(`${base}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: next!.pair, ...COOKIE_MODE }, body: 'token_type_hint=refresh_token' })
      expect(revoked.status).toBe(200)
      const cleared = setCookies(revoked)
      expect(cleared.map((c) => [c.name, c.value, c.attributes['max-age'], c.attributes.path])).toEqual([
        ['__Host-latchkey_refresh', '', '0', '/'],
        ['latchkey_refresh', '', '0', '/oauth'],
      ])
      expect(await (await tokenRequest(base, next!.pair)).json()).toMatchObject({ error: 'invalid_grant' })
    })

    test('the cookie of the previous release (latchkey_refresh) is still accepted, replaced by the new one and cleared', async () => {
      const base = suite.server.url
      // A web user signed in before the rename: the browser holds latchkey_refresh (Path=/oauth).
      const before = await signUp(base)
      const res = await tokenRequest(base, `latchkey_refresh=${before.refresh_token}`)
      expect(res.status).toBe(200)
      const cookies = setCookies(res)
      expect(cookies.map((c) => c.name)).toEqual(['__Host-latchkey_refresh', 'latchkey_refresh'])
      expect(cookies[0]!.value).not.toBe('')
      expect(cookies[1]).toMatchObject({ value: '', attributes: { 'max-age': '0', path: '/oauth', secure: true } })
      // With both in the jar (the deletion not yet applied), the new one wins: it rotates. (The old
      // one, the previous token inside the grace window, would get the current token back.)
      const both = await tokenRequest(base, `latchkey_refresh=${before.refresh_token}; ${cookies[0]!.pair}`)
      expect(both.status).toBe(200)
      expect(setCookies(both)[0]!.value).not.toBe(cookies[0]!.value)

      // Sign-out clears both names.
      const { access_token } = (await both.json()) as Pair
      const out = await fetch(`${base}/auth/sign-out`, { method: 'POST', headers: { authorization: `Bearer ${access_token}`, ...COOKIE_MODE } })
      expect(out.status).toBe(200)
      expect(setCookies(out).map((c) => [c.name, c.attributes['max-age']])).toEqual([
        ['__Host-latchkey_refresh', '0'],
        ['latchkey_refresh', '0'],
      ])
    })
  })

  describe('https issuer with a path (an origin shared with other applications)', () => {
    const suite = serverForSuite(backend, { rateLimit: false, issuer: 'https://example.com/auth' })

    test('__Secure-latchkey_refresh, Secure, scoped to <issuer path>/oauth', async () => {
      const res = await postJson(suite.server.url, '/auth/sign-up', { email: uniqueEmail('web'), password: PASSWORD }, COOKIE_MODE)
      const [cookie] = setCookies(res)
      expect(cookie).toMatchObject({ name: '__Secure-latchkey_refresh', attributes: { httponly: true, secure: true, samesite: 'Strict', path: '/auth/oauth' } })
      expect((await tokenRequest(suite.server.url, cookie!.pair)).status).toBe(200)
    })
  })

  describe('plain-http loopback issuer (local development)', () => {
    const suite = serverForSuite(backend, { rateLimit: false })

    test('latchkey_refresh without Secure on Path=/oauth, even when the request names another host', async () => {
      const res = await suite.server.app.request('https://auth.example.com/auth/sign-up', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...COOKIE_MODE },
        body: JSON.stringify({ email: uniqueEmail('web'), password: PASSWORD }),
      })
      const cookies = setCookies(res)
      expect(cookies).toHaveLength(1)
      expect(cookies[0]).toMatchObject({ name: 'latchkey_refresh', attributes: { httponly: true, samesite: 'Strict', path: '/oauth' } })
      expect(cookies[0]!.attributes).not.toHaveProperty('secure')
      const form = await postForm(suite.server.url, '/oauth/token', { grant_type: 'refresh_token' }, { cookie: cookies[0]!.pair, ...COOKIE_MODE })
      expect(form.status).toBe(200)
    })
  })
})
