import { describe, expect, it, vi } from 'vitest'
import { oauth2Refresh, oauth2Revoke } from './oauth2.js'

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
const signal = new AbortController().signal

describe('oauth2Refresh (RFC 6749 §6) and oauth2Revoke (RFC 7009)', () => {
  it('sends a form-encoded refresh_token grant with client_id and custom headers', async () => {
    const fetch = vi.fn(async (_u: Request | string | URL, _i?: RequestInit) => json(200, { access_token: 'a', token_type: 'Bearer', expires_in: 60 }))
    const refresh = oauth2Refresh({ tokenEndpoint: 'https://as.example/token', clientId: 'app', fetch, headers: { 'X-App': '1' }, credentials: 'include' })
    await refresh('rt-1', { signal })
    const [url, init] = fetch.mock.calls[0]!
    expect(url).toBe('https://as.example/token')
    expect(init).toMatchObject({ method: 'POST', credentials: 'include' })
    expect(init!.headers).toMatchObject({ 'Content-Type': 'application/x-www-form-urlencoded', 'X-App': '1' })
    expect(Object.fromEntries(new URLSearchParams(String(init!.body)))).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt-1', client_id: 'app' })
  })

  it('finding 9: sends the RFC 8707 resource with every refresh; refuses a relative one or one with a fragment', async () => {
    const fetch = vi.fn(async (_u: Request | string | URL, _i?: RequestInit) => json(200, { access_token: 'a', token_type: 'Bearer', expires_in: 60 }))
    const refresh = oauth2Refresh({ tokenEndpoint: 'https://as.example/token', fetch, resource: 'https://orders.example.com' })
    await refresh('rt-1', { signal })
    await refresh(null, { signal })
    expect(fetch.mock.calls.map(([, init]) => new URLSearchParams(String(init!.body)).getAll('resource'))).toEqual([['https://orders.example.com'], ['https://orders.example.com']])
    for (const resource of ['/orders', 'orders.example.com', 'https://orders.example.com#x', '', 'https://a b.example']) {
      expect(() => oauth2Refresh({ tokenEndpoint: 'https://as.example/token', resource })).toThrow(TypeError)
    }
    expect(() => oauth2Refresh({ tokenEndpoint: 'https://as.example/token', resource: 'urn:example:orders' })).not.toThrow()
    // Without it nothing is sent (tokens for the auth server itself).
    await oauth2Refresh({ tokenEndpoint: 'https://as.example/token', fetch })('rt', { signal })
    expect(new URLSearchParams(String(fetch.mock.calls[2]![1]!.body)).has('resource')).toBe(false)
  })

  it('an invalid_target answer is LK_OAUTH naming it (not a rejection: the session is kept)', async () => {
    const refresh = oauth2Refresh({ tokenEndpoint: 'https://as.example/token', resource: 'https://unknown.example', fetch: async () => json(400, { error: 'invalid_target', error_description: 'unknown' }) })
    await expect(refresh('rt', { signal })).rejects.toMatchObject({ code: 'LK_OAUTH', error: 'invalid_target' })
  })

  it('omits refresh_token when the credential is a cookie (null)', async () => {
    const fetch = vi.fn(async (_u: Request | string | URL, _i?: RequestInit) => json(200, { access_token: 'a', token_type: 'Bearer' }))
    await oauth2Refresh({ tokenEndpoint: 'https://as.example/token', fetch })(null, { signal })
    expect(String(fetch.mock.calls[0]![1]!.body)).toBe('grant_type=refresh_token')
  })

  it.each([
    [json(400, { error: 'invalid_grant' }), 'LK_REFRESH_REJECTED'],
    [json(400, { error: 'invalid_client' }), 'LK_CLIENT_CONFIG'],
    [json(401, { error: 'invalid_client' }), 'LK_CLIENT_CONFIG'],
    [json(404, 'nope'), 'LK_OAUTH'],
    [json(500, {}), 'LK_NETWORK'],
    [json(502, {}), 'LK_NETWORK'],
    [json(429, {}), 'LK_NETWORK'],
    [new Response('<html>', { status: 200 }), 'LK_NETWORK'],
    [json(200, { token_type: 'Bearer' }), 'LK_NETWORK'],
  ])('maps %# to %s', async (response, code) => {
    const refresh = oauth2Refresh({ tokenEndpoint: 'https://as.example/token', fetch: async () => response })
    await expect(refresh('rt', { signal })).rejects.toMatchObject({ code })
  })

  it('network errors and timeouts are network-class; messages carry no token', async () => {
    const down = oauth2Refresh({ tokenEndpoint: 'https://as.example/token', fetch: async () => { throw new TypeError('fetch failed') } })
    const err = await down('super-secret-rt', { signal }).catch((e: Error) => e)
    expect(err).toMatchObject({ code: 'LK_NETWORK', detail: 'unreachable' })
    expect(String((err as Error).message)).not.toContain('super-secret-rt')
    const hang = oauth2Refresh({
      tokenEndpoint: 'https://as.example/token',
      timeoutMs: 20,
      fetch: (_u, init) => new Promise((_r, reject) => init!.signal!.addEventListener('abort', () => reject(new Error('aborted')))),
    })
    await expect(hang('rt', { signal })).rejects.toMatchObject({ code: 'LK_TIMEOUT' })
  })

  it('revokes with token and token_type_hint; 200 is success, 503 is retryable', async () => {
    const fetch = vi.fn(async (_u: Request | string | URL, _i?: RequestInit) => new Response(null, { status: 200 }))
    const revoke = oauth2Revoke({ revocationEndpoint: 'https://as.example/revoke', clientId: 'app', fetch })
    await revoke('rt-9', { signal })
    expect(Object.fromEntries(new URLSearchParams(String(fetch.mock.calls[0]![1]!.body)))).toEqual({ token: 'rt-9', token_type_hint: 'refresh_token', client_id: 'app' })
    fetch.mockResolvedValueOnce(new Response(null, { status: 503 }))
    await expect(revoke('rt-9', { signal })).rejects.toMatchObject({ code: 'LK_NETWORK' })
  })
})
