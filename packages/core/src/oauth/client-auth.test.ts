import { describe, expect, it, vi } from 'vitest'
import { makeClient } from '../test-support/client.js'
import { basicCredentials, oauth2Refresh, oauth2Revoke } from './oauth2.js'

const signal = new AbortController().signal
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
const capture = () => vi.fn(async (_u: Request | string | URL, _i?: RequestInit) => json(200, { access_token: 'a', token_type: 'Bearer' }))
const sent = (fetch: ReturnType<typeof capture>) => {
  const init = fetch.mock.calls[0]![1]!
  return { form: new URLSearchParams(String(init.body)), headers: new Headers(init.headers) }
}
const unsignedJwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`

describe('oauth2Refresh / oauth2Revoke speak to standard providers', () => {
  it('client_secret_basic: id and secret form-urlencoded, then base64 (RFC 6749 §2.3.1); nothing in the body', async () => {
    const fetch = capture()
    const id = 'my client:1'
    const secret = 'p@ss w/rd+%~é'
    await oauth2Refresh({ tokenEndpoint: 'https://as.example/token', clientId: id, clientAuthentication: { method: 'client_secret_basic', clientSecret: secret }, fetch })('rt', { signal })
    const { form, headers } = sent(fetch)
    const expected = Buffer.from(`${new URLSearchParams({ a: id }).toString().slice(2)}:${new URLSearchParams({ a: secret }).toString().slice(2)}`).toString('base64')
    expect(headers.get('Authorization')).toBe(`Basic ${expected}`)
    expect(basicCredentials('a b', 'c')).toBe(`Basic ${Buffer.from('a+b:c').toString('base64')}`)
    expect(form.has('client_id')).toBe(false)
    expect(form.has('client_secret')).toBe(false)
  })

  it('client_secret_post: id and secret in the body (RFC 6749 §2.3.1); none: the id only', async () => {
    const post = capture()
    await oauth2Revoke({ revocationEndpoint: 'https://as.example/revoke', clientId: 'c', clientAuthentication: { method: 'client_secret_post', clientSecret: 's' }, fetch: post })('rt', { signal })
    expect(Object.fromEntries(sent(post).form)).toEqual({ token_type_hint: 'refresh_token', token: 'rt', client_id: 'c', client_secret: 's' })
    expect(sent(post).headers.has('Authorization')).toBe(false)
    const none = capture()
    await oauth2Refresh({ tokenEndpoint: 'https://as.example/token', clientId: 'c', fetch: none })('rt', { signal })
    expect(Object.fromEntries(sent(none).form)).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt', client_id: 'c' })
  })

  it('refuses secret methods without a secret or an id', () => {
    expect(() => oauth2Refresh({ tokenEndpoint: 'https://as/t', clientAuthentication: { method: 'client_secret_basic', clientSecret: 's' } })).toThrow(/clientId/)
    expect(() => oauth2Refresh({ tokenEndpoint: 'https://as/t', clientId: 'c', clientAuthentication: { method: 'client_secret_post', clientSecret: '' } })).toThrow(/clientSecret/)
  })

  it('RFC 8707: one resource or several, as repeated parameters; bad ones refused', async () => {
    const fetch = capture()
    await oauth2Refresh({ tokenEndpoint: 'https://as.example/token', resource: ['https://api.example.com', 'urn:example:billing'], fetch })('rt', { signal })
    expect(sent(fetch).form.getAll('resource')).toEqual(['https://api.example.com', 'urn:example:billing'])
    const revoke = capture()
    await oauth2Revoke({ revocationEndpoint: 'https://as.example/revoke', resource: 'https://api.example.com', fetch: revoke })('rt', { signal })
    expect(sent(revoke).form.getAll('resource')).toEqual(['https://api.example.com'])
    expect(() => oauth2Refresh({ tokenEndpoint: 'https://as/t', resource: ['https://a.example#x'] })).toThrow(/RFC 8707/)
    expect(() => oauth2Refresh({ tokenEndpoint: 'https://as/t', resource: [] })).toThrow(/RFC 8707/)
  })

  it('extra parameters are sent and cannot replace the grant', async () => {
    const fetch = capture()
    await oauth2Refresh({ tokenEndpoint: 'https://as.example/token', extraParams: { audience: 'api', grant_type: 'password' }, fetch })('rt', { signal })
    expect(sent(fetch).form.get('audience')).toBe('api')
    expect(sent(fetch).form.getAll('grant_type')).toEqual(['refresh_token'])
  })

  it('the id_token is kept, and gives the claims when the access token is opaque', async () => {
    const idToken = unsignedJwt({ sub: 'user-1', email: 'a@b.c' })
    const { client, refresh } = makeClient()
    await client.signIn({ access_token: 'opaque', token_type: 'Bearer', expires_in: 600, refresh_token: 'r', id_token: idToken })
    expect(client.getState().claims).toEqual({ sub: 'user-1', email: 'a@b.c' })
    // A refresh answer without id_token (OpenID Connect Core §12.2) keeps the one we have.
    refresh.mockResolvedValueOnce({ access_token: 'opaque-2', token_type: 'Bearer', expires_in: 600 })
    const s = client.tokenSource
    await s.renew({ accessToken: 'opaque', tokenType: 'Bearer' })
    expect(client.getState().claims).toEqual({ sub: 'user-1', email: 'a@b.c' })
    // A JWT access token's own claims win.
    await client.signIn({ access_token: unsignedJwt({ sub: 'user-2' }), token_type: 'Bearer', id_token: idToken })
    expect(client.getState().claims).toEqual({ sub: 'user-2' })
  })
})
