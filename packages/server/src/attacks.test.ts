import http from 'node:http'
import { generateKeyPair, importJWK, SignJWT, exportSPKI, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { InvalidAccessTokenError } from './crypto/jwt.js'
import { verifyAccessToken } from './resource.js'
import { createPgliteDir, type TestDatabase } from './test-support/databases.js'
import { PASSWORD, getMe, postJson, signUp, startTestServer, uniqueEmail } from './test-support/server.js'
import type { RunningServer } from './server.js'
import type { Logger } from './service.js'

const API = 'https://orders.example.com'
let tdb: TestDatabase
let server: RunningServer
let base: string
const errors: string[] = []
type LogLine = { level: 'info' | 'warn' | 'error'; message: string; data: Record<string, unknown> | undefined }
const logLines: LogLine[] = []
const logWaiters = new Set<() => void>()
const log = (level: LogLine['level']) => (message: string, data?: Record<string, unknown>) => {
  logLines.push({ level, message, data })
  if (level === 'error') errors.push(`${message} ${JSON.stringify(data)}`)
  for (const wake of logWaiters) wake()
}
const logger: Logger = { info: log('info'), warn: log('warn'), error: log('error') }
/** Resolves with the first log line (already logged or to come) that matches. */
function logged(match: (l: LogLine) => boolean): Promise<LogLine> {
  return new Promise((resolve) => {
    const check = () => {
      const hit = logLines.find(match)
      if (!hit) return
      logWaiters.delete(check)
      resolve(hit)
    }
    logWaiters.add(check)
    check()
  })
}

beforeAll(async () => {
  tdb = createPgliteDir()
  server = await startTestServer(tdb, { logger, resources: [API], rateLimit: { perAccount: { max: 5, windowSeconds: 60 }, perIp: { max: 60, windowSeconds: 60 } } })
  base = server.url
})
afterAll(async () => {
  await server?.close()
  await tdb?.cleanup()
})

type Key = Awaited<ReturnType<typeof importJWK>>
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')

describe('forged and altered access tokens → 401 from /me and from verifyAccessToken', () => {
  let kid: string
  let privateKey: Key
  let publicJwk: JWK
  /** A real token and its claims: one for /me, one for a resource server (finding 9: each has its own audience). */
  interface Forge {
    valid: string
    claims: Record<string, unknown>
  }
  let me: Forge
  let api: Forge

  beforeAll(async () => {
    const forge = (valid: string): Forge => ({ valid, claims: JSON.parse(Buffer.from(valid.split('.')[1]!, 'base64url').toString()) as Record<string, unknown> })
    me = forge((await signUp(base)).access_token)
    api = forge((await signUp(base, undefined, undefined, API)).access_token)
    const row = await server.db.selectFrom('signing_keys').selectAll().where('status', '=', 'current').executeTakeFirstOrThrow()
    kid = row.kid
    privateKey = (await importJWK(JSON.parse(row.private_jwk) as JWK, 'ES256')) as Key
    publicJwk = JSON.parse(row.public_jwk) as JWK
  })

  /** Signs with the server's real key, so only the one altered property can be what fails. */
  const realSigned = (f: Forge, over: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT({ ...f.claims, ...over }).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt', ...header }).sign(privateKey)

  const now = () => Math.floor(Date.now() / 1000)

  const cases: [string, (f: Forge) => Promise<string>][] = [
    ['alg none', async (f) => `${b64({ alg: 'none', kid, typ: 'at+jwt' })}.${b64(f.claims)}.`],
    ['alg none with the original signature', async (f) => `${b64({ alg: 'none', kid, typ: 'at+jwt' })}.${f.valid.split('.')[1]}.${f.valid.split('.')[2]}`],
    [
      'HS256 signed with the public key (PEM) as the secret',
      async (f) => {
        const pem = await exportSPKI((await importJWK(publicJwk, 'ES256')) as Parameters<typeof exportSPKI>[0])
        return new SignJWT(f.claims).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' }).sign(new TextEncoder().encode(pem))
      },
    ],
    ['HS256 signed with the public JWK JSON as the secret', (f) => new SignJWT(f.claims).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' }).sign(new TextEncoder().encode(JSON.stringify(publicJwk)))],
    [
      'a foreign ES256 key claiming our kid',
      async (f) => {
        const { privateKey: foreign } = await generateKeyPair('ES256')
        return new SignJWT(f.claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(foreign)
      },
    ],
    [
      'tampered payload (other sub), original signature',
      async (f) => {
        const [h, , s] = f.valid.split('.')
        return `${h}.${b64({ ...f.claims, sub: 'someone-else' })}.${s}`
      },
    ],
    ['wrong iss', (f) => realSigned(f, { iss: 'https://evil.example' })],
    ['wrong aud', (f) => realSigned(f, { aud: 'https://other-api.example' })],
    ['two audiences, its own among them', (f) => realSigned(f, { aud: [f.claims.aud, 'https://other-api.example'] })],
    ['expired', (f) => realSigned(f, { iat: now() - 7200, exp: now() - 3600 })],
    ['not yet valid (nbf in the future)', (f) => realSigned(f, { nbf: now() + 3600 })],
    ['kid pointing nowhere', (f) => realSigned(f, {}, { kid: 'no-such-key' })],
    ['no kid', (f) => realSigned(f, {}, { kid: undefined })],
    ['typ JWT instead of at+jwt (an ID token or other JWT)', (f) => realSigned(f, {}, { typ: 'JWT' })],
    ['no sid claim', (f) => realSigned(f, { sid: undefined })],
    ['no exp claim', (f) => realSigned(f, { exp: undefined })],
    ['truncated signature', async (f) => f.valid.slice(0, -10)],
  ]

  const verifyAtApi = (token: string) => verifyAccessToken(token, { jwksUrl: `${base}/.well-known/jwks.json`, issuer: server.issuer, audience: API })

  test('the forging harness itself produces accepted tokens when nothing is altered', async () => {
    expect((await getMe(base, await realSigned(me, {}))).status).toBe(200)
    await expect(verifyAtApi(await realSigned(api, {}))).resolves.toMatchObject({ aud: API })
  })

  test.each(cases)('%s', async (_name, make) => {
    const res = await getMe(base, await make(me))
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
    await expect(verifyAtApi(await make(api))).rejects.toThrow(InvalidAccessTokenError)
  })
})

describe('rate limits', () => {
  test('per IP: sign-in/sign-up attempts beyond the limit get 429 + Retry-After, whatever the account', async () => {
    const local = createPgliteDir()
    const s = await startTestServer(local, { rateLimit: { perAccount: { max: 100, windowSeconds: 60 }, perIp: { max: 4, windowSeconds: 60 } } })
    try {
      const statuses: number[] = []
      for (let i = 0; i < 6; i++) statuses.push((await postJson(s.url, '/auth/sign-in', { email: uniqueEmail(), password: 'wrong password' })).status)
      expect(statuses).toEqual([401, 401, 401, 401, 429, 429])
      const r = await postJson(s.url, '/auth/sign-up', { email: uniqueEmail(), password: PASSWORD })
      expect(r.status).toBe(429)
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0)
      // Sliding window: the 7 counted hits fade through the next window, so the wait can pass 60 s but never 2 windows.
      expect(Number(r.headers.get('retry-after'))).toBeLessThanOrEqual(120)
    } finally {
      await s.close()
      await local.cleanup()
    }
  })
})

describe('the client address behind a reverse proxy (LATCHKEY_TRUST_PROXY, X-Forwarded-For)', () => {
  // One proxy hop appends the address it saw; what is left of it was written by the client.
  const PER_IP = 10
  let local: TestDatabase
  let s: RunningServer
  let spoof = 0
  beforeAll(async () => {
    local = createPgliteDir()
    s = await startTestServer(local, { trustProxy: true, rateLimit: { perAccount: { max: 1000, windowSeconds: 60 }, perIp: { max: PER_IP, windowSeconds: 60 } } })
  })
  afterAll(async () => {
    await s?.close()
    await local?.cleanup()
  })
  const signInFrom = (xff: string) => postJson(s.url, '/auth/sign-in', { email: uniqueEmail('xff'), password: 'wrong password' }, { 'x-forwarded-for': xff })
  const statuses = async (n: number, xff: () => string) => {
    const out: number[] = []
    for (let i = 0; i < n; i++) out.push((await signInFrom(xff())).status)
    return out
  }

  test(`60 sign-ins with different spoofed leftmost X-Forwarded-For values behind one proxy hop are limited as one client (after ${PER_IP})`, async () => {
    const got = await statuses(60, () => `10.${spoof >> 16 & 255}.${spoof >> 8 & 255}.${spoof++ & 255}, 198.51.100.1`)
    expect(got).toEqual([...Array<number>(PER_IP).fill(401), ...Array<number>(60 - PER_IP).fill(429)])
  })

  test('IPv6 addresses in one /64 share a limit; the next /64 is another client', async () => {
    const got = await statuses(PER_IP + 2, () => `2001:db8:5:6::${(spoof++).toString(16)}`)
    expect(got).toEqual([...Array<number>(PER_IP).fill(401), 429, 429])
    expect((await signInFrom('2001:db8:5:7::1')).status).toBe(401)
  })

  test('a garbage X-Forwarded-For falls back to the proxy peer: it never mints a fresh limit key', async () => {
    const got = await statuses(PER_IP + 2, () => `garbage-${spoof++}`)
    expect(got).toEqual([...Array<number>(PER_IP).fill(401), 429, 429])
  })
})

describe('malformed input → 4xx with {error, error_description}; the server keeps serving', () => {
  const J = { 'content-type': 'application/json' }
  const F = { 'content-type': 'application/x-www-form-urlencoded' }
  const huge = 'a'.repeat(100_000)
  type Case = [string, string, string, RequestInit]
  const post = (body: RequestInit['body'], headers: Record<string, string> = J): RequestInit => ({ method: 'POST', headers, body })
  const cred = (o: unknown) => post(JSON.stringify(o))
  const cases: Case[] = [
    ['sign-up: not JSON', 'POST', '/auth/sign-up', post('{"email":')],
    ['sign-up: JSON array', 'POST', '/auth/sign-up', post('[1,2]')],
    ['sign-up: JSON null', 'POST', '/auth/sign-up', post('null')],
    ['sign-up: JSON string', 'POST', '/auth/sign-up', post('"x"')],
    ['sign-up: text/plain', 'POST', '/auth/sign-up', post('email=a', { 'content-type': 'text/plain' })],
    ['sign-up: no content type', 'POST', '/auth/sign-up', { method: 'POST', body: new Uint8Array([1, 2, 3]) }],
    ['sign-up: empty body', 'POST', '/auth/sign-up', post('')],
    ['sign-up: missing email', 'POST', '/auth/sign-up', cred({ password: PASSWORD })],
    ['sign-up: email is a number', 'POST', '/auth/sign-up', cred({ email: 42, password: PASSWORD })],
    ['sign-up: email with NUL', 'POST', '/auth/sign-up', cred({ email: 'a\u0000@example.com', password: PASSWORD })],
    ['sign-up: email of 10 000 chars', 'POST', '/auth/sign-up', cred({ email: `${'a'.repeat(10_000)}@example.com`, password: PASSWORD })],
    ['sign-up: SQL injection email', 'POST', '/auth/sign-up', cred({ email: "' OR 1=1; DROP TABLE users; --", password: PASSWORD })],
    ['sign-up: password too short', 'POST', '/auth/sign-up', cred({ email: uniqueEmail(), password: 'short' })],
    ['sign-up: password with NUL', 'POST', '/auth/sign-up', cred({ email: uniqueEmail(), password: 'abc\u0000defghij' })],
    ['sign-up: password too long', 'POST', '/auth/sign-up', cred({ email: uniqueEmail(), password: 'p'.repeat(5000) })],
    ['sign-up: password is an object', 'POST', '/auth/sign-up', cred({ email: uniqueEmail(), password: { $gt: '' } })],
    ['sign-up: device is an object', 'POST', '/auth/sign-up', cred({ email: uniqueEmail(), password: PASSWORD, device: { a: 1 } })],
    ['sign-up: device with control characters', 'POST', '/auth/sign-up', cred({ email: uniqueEmail(), password: PASSWORD, device: 'x\u001b[31m' })],
    ['sign-up: body over the size limit', 'POST', '/auth/sign-up', cred({ email: uniqueEmail(), password: huge })],
    ['sign-up: __proto__ pollution', 'POST', '/auth/sign-up', post('{"__proto__":{"email":"a@b.co","password":"xxxxxxxxxxx"}}')],
    ['sign-up: deeply nested JSON', 'POST', '/auth/sign-up', post(`${'['.repeat(20_000)}${']'.repeat(20_000)}`)],
    ['sign-up: invalid UTF-8', 'POST', '/auth/sign-up', post(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]))],
    ['sign-in: NoSQL-style operator object', 'POST', '/auth/sign-in', cred({ email: { $ne: null }, password: { $ne: null } })],
    ['sign-in: unicode homoglyph email, no password', 'POST', '/auth/sign-in', cred({ email: 'аdmin@exаmple.com' })],
    ['token: duplicated grant_type (RFC 6749 §3.2)', 'POST', '/oauth/token', post('grant_type=refresh_token&grant_type=refresh_token&refresh_token=x', F)],
    ['token: refresh_token with NUL', 'POST', '/oauth/token', post('grant_type=refresh_token&refresh_token=a%00b', F)],
    ['token: refresh_token of 10 000 chars', 'POST', '/oauth/token', post(`grant_type=refresh_token&refresh_token=${'x'.repeat(10_000)}`, F)],
    ['token: refresh_token is a number (JSON)', 'POST', '/oauth/token', cred({ grant_type: 'refresh_token', refresh_token: 12345 })],
    ['token: grant_type is an array (JSON)', 'POST', '/oauth/token', cred({ grant_type: ['refresh_token'], refresh_token: 'x' })],
    ['token: multipart/form-data', 'POST', '/oauth/token', post('--b\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nrefresh_token\r\n--b--', { 'content-type': 'multipart/form-data; boundary=b' })],
    ['token: form body labelled JSON', 'POST', '/oauth/token', post('grant_type=refresh_token&refresh_token=x')],
    ['token: emoji refresh token', 'POST', '/oauth/token', post('grant_type=refresh_token&refresh_token=%F0%9F%94%91', F)],
    ['token: SQL injection refresh token', 'POST', '/oauth/token', post(`grant_type=refresh_token&refresh_token=${encodeURIComponent("x' OR '1'='1")}`, F)],
    ['token: grant_type unknown and huge', 'POST', '/oauth/token', post(`grant_type=${'z'.repeat(5000)}`, F)],
    ['revoke: token is an array (JSON)', 'POST', '/oauth/revoke', cred({ token: ['a'] })],
    ['revoke: no token', 'POST', '/oauth/revoke', post('token_type_hint=refresh_token', F)],
    ['revoke: XML body', 'POST', '/oauth/revoke', post('<token>x</token>', { 'content-type': 'application/xml' })],
    ['me: Bearer of 10 000 chars', 'GET', '/me', { headers: { authorization: `Bearer ${'a'.repeat(10_000)}` } }],
    ['me: Bearer with latin-1 bytes', 'GET', '/me', { headers: { authorization: 'Bearer \u00ff\u00fe.\u00e9.x' } }],
    ['me: three dots of nothing', 'GET', '/me', { headers: { authorization: 'Bearer ..' } }],
    ['sessions: bad percent-encoding in the id', 'DELETE', '/auth/sessions/%E0%A4%A', {}],
    ['sessions: SQL injection id', 'DELETE', '/auth/sessions/1%27%20OR%20%271%27%3D%271', {}],
    ['sign-out: garbage bearer', 'POST', '/auth/sign-out', { method: 'POST', headers: { authorization: 'Bearer x.y.z' } }],
    ['sign-out-all: no credentials', 'POST', '/auth/sign-out-all', { method: 'POST' }],
    ['unknown path', 'GET', '/admin', {}],
    ['token endpoint with GET', 'GET', '/oauth/token', {}],
  ]

  test(`there are at least 30 cases (${cases.length})`, () => expect(cases.length).toBeGreaterThanOrEqual(30))

  test.each(cases)('%s', async (_name, method, path, init) => {
    const res = await fetch(`${base}${path}`, { ...init, method })
    expect(res.status, await res.clone().text()).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
    const body = (await res.json()) as { error: unknown; error_description: unknown }
    expect(typeof body.error).toBe('string')
    expect(typeof body.error_description).toBe('string')
    // Nothing sensitive is echoed back.
    expect(JSON.stringify(body)).not.toContain(PASSWORD)
  })

  test('a body over the limit: 20 requests with fetch, one after another and 20 at once, all read the 413 and its JSON error (Connection: close)', async () => {
    const body = JSON.stringify({ email: uniqueEmail(), password: 'p'.repeat(300_000) })
    const send = async () => {
      try {
        const res = await fetch(`${base}/auth/sign-up`, { method: 'POST', headers: J, body })
        return { status: res.status, connection: res.headers.get('connection'), body: await res.json() }
      } catch (e) {
        return { failed: String((e as Error).cause ?? e) }
      }
    }
    const oneAfterAnother = []
    for (let i = 0; i < 20; i++) oneAfterAnother.push(await send())
    const atOnce = await Promise.all(Array.from({ length: 20 }, send))
    const expected = { status: 413, connection: 'close', body: { error: 'invalid_request', error_description: 'the request body is too large' } }
    expect(oneAfterAnother).toEqual(Array(20).fill(expected))
    expect(atOnce).toEqual(Array(20).fill(expected))
  })

  test('after a 413 the same keep-alive client sends its next request without losing it', async () => {
    for (let i = 0; i < 5; i++) {
      const big = await fetch(`${base}/oauth/token`, { method: 'POST', headers: F, body: `grant_type=refresh_token&refresh_token=${'x'.repeat(200_000)}` })
      expect(big.status).toBe(413)
      await big.arrayBuffer()
      expect(await (await fetch(`${base}/health`)).json()).toEqual({ ok: true })
    }
  })

  test('a client that aborts its request body mid-way: logged at info as a client abort, no error-level log', async () => {
    await abortMidBody(`${base}/auth/sign-in`)
    const line = await logged((l) => l.data?.path === '/auth/sign-in')
    expect(line).toMatchObject({ level: 'info', message: 'client aborted the request body' })
    expect(errors).toEqual([])
  })

  test('afterwards the server still serves and logged no unhandled error', async () => {
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ ok: true })
    const p = await signUp(base)
    expect((await getMe(base, p.access_token)).status).toBe(200)
    expect(errors).toEqual([])
  })
})

/** Sends headers and part of a declared body (once the server has taken the request: 100-continue), then destroys the connection. */
function abortMidBody(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '1000', expect: '100-continue' } })
    req.on('error', () => undefined) // the connection we cut
    req.on('response', (res) => reject(new Error(`answered ${res.statusCode} before the body was complete`)))
    req.on('continue', () => {
      req.write('{"email":"someone@example.com","pass', () => {
        req.destroy()
        resolve()
      })
    })
    req.flushHeaders()
  })
}
