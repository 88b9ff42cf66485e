import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ConfigError, resolveConfig } from '../config.js'
import type { Logger } from '../service.js'
import { testBackends } from '../test-support/databases.js'
import { PASSWORD, TestClock, postJson, signUp, startTestServer, uniqueEmail } from '../test-support/server.js'
import { StandInApple } from '../test-support/stand-in-apple.js'
import { startStandInIdp, type StandInIdp } from '../test-support/stand-in-idp.js'

// Issue 15: Sign in with Apple's tokens are revoked when the account is deleted or the identity
// unlinked (App Store Review Guideline 5.1.1(v); Apple's "Revoke tokens" REST API), against a
// loopback stand-in of Apple's token and revoke endpoints (test-support/stand-in-apple.ts) and an
// Apple-like OpenID provider issuing the ID tokens (oidc-provider), on PGlite and PostgreSQL.

const CLIENT = 'com.example.app'
const SECRET = 'a test secret of more than thirty-two characters'
const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex')
const rawNonce = () => randomBytes(24).toString('base64url')

let idp: StandInIdp
const apple = new StandInApple()
beforeAll(async () => {
  idp = await startStandInIdp([CLIENT], 'ES256')
  await apple.start()
})
afterAll(async () => {
  await idp?.close()
  await apple.stop()
})

/** Every line the server logs, to check that no Apple token ever appears in one. */
function recordingLogger(lines: string[]): Logger {
  const rec = (m: string, d?: Record<string, unknown>) => void lines.push(`${m} ${JSON.stringify(d ?? {})}`)
  return { info: rec, warn: rec, error: rec }
}

for (const backend of testBackends()) {
  describe(`Apple token revocation (${backend.name})`, () => {
    const clock = new TestClock()
    const logs: string[] = []
    const options = () => ({
      now: clock.now,
      secret: SECRET,
      logger: recordingLogger(logs),
      rateLimit: { perIp: { max: 100_000, windowSeconds: 900 } },
      identityProviders: [{ type: 'oidc' as const, name: 'applelike', issuer: idp.issuer, jwksUri: idp.jwksUri, clientIds: [CLIENT], nonce: 'sha256' as const, algorithms: ['ES256' as const], jwksCooldownSeconds: 0 }],
      appleTokens: { provider: 'applelike', teamId: apple.teamId, keyId: apple.keyId, privateKeyPem: apple.privateKeyPem, tokenEndpoint: apple.tokenEndpoint, revokeEndpoint: apple.revokeEndpoint },
    })
    let db: Awaited<ReturnType<typeof backend.create>>
    let server: Awaited<ReturnType<typeof startTestServer>>
    beforeAll(async () => {
      db = await backend.create()
      server = await startTestServer(db, options())
    })
    afterAll(async () => {
      await server?.close()
      await db?.cleanup()
      // No Apple token in any log line (OWASP Logging Cheat Sheet: no session tokens or secrets).
      for (const t of apple.issued) expect(logs.join('\n')).not.toContain(t)
    })

    /** The app's Sign in with Apple: an ID token for `sub` (SHA-256 of the raw nonce) and, optionally, its authorization code. */
    async function appleSignIn(sub: string, email: string, withCode = true) {
      const raw = rawNonce()
      const body: Record<string, unknown> = { id_token: await idp.idToken({ clientId: CLIENT, sub, nonce: sha256hex(raw), email, emailVerified: 'true' }), nonce: raw }
      if (withCode) body.authorization_code = apple.code(sub, CLIENT)
      return body
    }

    const identityRow = (sub: string) => server.db.selectFrom('user_identities').select(['provider_token', 'provider_client_id']).where('subject', '=', sub).executeTakeFirst()
    const queued = () => server.db.selectFrom('provider_token_revocations').selectAll().execute()
    const deleteWithIdToken = async (access: string, sub: string, email: string) =>
      fetch(`${server.url}/auth/delete-account/id-token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${access}` },
        body: JSON.stringify(await appleSignIn(sub, email, false)),
      })

    test('sign-in exchanges the code and keeps the refresh token encrypted; deleting the account revokes it once, and the row goes', async () => {
      const email = uniqueEmail('apple')
      const sub = `apple-${email}`
      const res = await postJson(server.url, '/auth/id-token', await appleSignIn(sub, email))
      expect(res.status).toBe(201)
      const pair = (await res.json()) as { access_token: string }
      const refresh = apple.issued.at(-1)!
      const row = await identityRow(sub)
      expect(row?.provider_client_id).toBe(CLIENT)
      expect(row?.provider_token).toMatch(/^enc:v1:/)
      expect(row?.provider_token).not.toContain(refresh)
      const del = await deleteWithIdToken(pair.access_token, sub, email)
      expect(del.status).toBe(200)
      await server.providerTokenRevoker!.idle()
      expect(apple.revoked.filter((t) => t === refresh)).toHaveLength(1)
      expect(await queued()).toHaveLength(0)
      expect(apple.refusals).toEqual([])
    })

    test('Apple down during the deletion: the deletion answers; the revocation is sent once Apple is back, after a restart of the server', async () => {
      const email = uniqueEmail('apple-down')
      const sub = `apple-${email}`
      const pair = (await (await postJson(server.url, '/auth/id-token', await appleSignIn(sub, email))).json()) as { access_token: string }
      const refresh = apple.issued.at(-1)!
      await apple.stop()
      try {
        const del = await deleteWithIdToken(pair.access_token, sub, email)
        expect(del.status).toBe(200)
        expect(await del.json()).toMatchObject({ deleted: true })
        await server.providerTokenRevoker!.idle()
        const rows = await queued()
        expect(rows).toHaveLength(1)
        expect(rows[0]).toMatchObject({ attempts: 1, failed_at: null })
        expect(rows[0]!.last_error).toMatch(/could not be reached/)
        expect(rows[0]!.token).not.toContain(refresh)
        // The server stops while Apple is down.
        await server.close()
      } finally {
        await apple.start()
      }
      clock.advance(60) // seconds: past the first retry's backoff
      server = await startTestServer(db, options())
      await server.providerTokenRevoker!.idle()
      expect(apple.revoked.filter((t) => t === refresh)).toHaveLength(1)
      expect(await queued()).toHaveLength(0)
    })

    test('a code Apple refuses, or one of another Apple account, is a 400 and no account is made; a bad code shape is a 400', async () => {
      const email = uniqueEmail('apple-bad')
      const sub = `apple-${email}`
      const forged = { ...(await appleSignIn(sub, email, false)), authorization_code: 'c0123456789abcdef.0.abcd.forged' }
      const r1 = await postJson(server.url, '/auth/id-token', forged)
      expect(r1.status).toBe(400)
      expect(await r1.json()).toMatchObject({ error: 'invalid_grant' })
      const other = { ...(await appleSignIn(sub, email, false)), authorization_code: apple.code(`someone-else-${sub}`, CLIENT) }
      const r2 = await postJson(server.url, '/auth/id-token', other)
      expect(r2.status).toBe(400)
      expect(await r2.json()).toMatchObject({ error: 'invalid_grant' })
      for (const code of ['', 'x'.repeat(3000), 'has spaces in it', 42]) {
        const r = await postJson(server.url, '/auth/id-token', { ...(await appleSignIn(sub, email, false)), authorization_code: code })
        expect(r.status).toBe(400)
      }
      expect(await server.db.selectFrom('users').select('id').where('email', '=', email).execute()).toHaveLength(0)
      // The same person then signs in properly.
      expect((await postJson(server.url, '/auth/id-token', await appleSignIn(sub, email))).status).toBe(201)
    })

    test("Apple refusing the server's client secret (a wrong key) is a 503 and an error for the operator, not the user's 400", async () => {
      const email = uniqueEmail('apple-key')
      const db2 = await backend.create()
      const other = await startTestServer(db2, { ...options(), appleTokens: { ...options().appleTokens, keyId: 'WRONGKEY00' } })
      try {
        const r = await postJson(other.url, '/auth/id-token', await appleSignIn(`apple-${email}`, email))
        expect(r.status).toBe(503)
        expect(await r.json()).toMatchObject({ error: 'identity_provider_unavailable' })
        expect(logs.some((l) => /refused the client secret/.test(l))).toBe(true)
        expect(await other.db.selectFrom('users').select('id').where('email', '=', email).execute()).toHaveLength(0)
      } finally {
        await other.close()
        await db2.cleanup()
      }
      // The stand-in refused that secret as Apple would; the other tests expect none refused.
      expect(apple.refusals.splice(0)).toEqual(['/auth/token: kid'])
    })

    test('Apple unreachable at sign-in is a 503 (try again), and no account is made', async () => {
      const email = uniqueEmail('apple-503')
      const body = await appleSignIn(`apple-${email}`, email)
      await apple.stop()
      try {
        const r = await postJson(server.url, '/auth/id-token', body)
        expect(r.status).toBe(503)
      } finally {
        await apple.start()
      }
      expect(await server.db.selectFrom('users').select('id').where('email', '=', email).execute()).toHaveLength(0)
    })

    test('unlinking an Apple identity from a password account revokes its token; the password account stays', async () => {
      const account = await signUp(server.url)
      const sub = `apple-link-${account.email}`
      const linked = await postJson(server.url, '/auth/identities', await appleSignIn(sub, `relay-${account.email}`), { authorization: `Bearer ${account.access_token}` })
      expect(linked.status).toBe(201)
      const { identity } = (await linked.json()) as { identity: { id: string } }
      const refresh = apple.issued.at(-1)!
      const un = await fetch(`${server.url}/auth/identities/${identity.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${account.access_token}` } })
      expect(un.status).toBe(200)
      await server.providerTokenRevoker!.idle()
      expect(apple.revoked.filter((t) => t === refresh)).toHaveLength(1)
      expect((await postJson(server.url, '/auth/sign-in', { email: account.email, password: PASSWORD })).status).toBe(200)
    })

    test('a password account with a linked Apple identity: password deletion revokes the token too', async () => {
      const account = await signUp(server.url)
      const sub = `apple-pw-${account.email}`
      expect((await postJson(server.url, '/auth/identities', await appleSignIn(sub, account.email), { authorization: `Bearer ${account.access_token}` })).status).toBe(201)
      const refresh = apple.issued.at(-1)!
      const del = await postJson(server.url, '/auth/delete-account', { password: PASSWORD }, { authorization: `Bearer ${account.access_token}` })
      expect(del.status).toBe(200)
      await server.providerTokenRevoker!.idle()
      expect(apple.revoked.filter((t) => t === refresh)).toHaveLength(1)
    })
  })
}

describe('Apple token settings', () => {
  const provider = { type: 'apple' as const, clientIds: [CLIENT] }
  const good = () => ({ teamId: apple.teamId, keyId: apple.keyId, privateKeyPem: apple.privateKeyPem })
  test('checked at start, the key never echoed', () => {
    expect(resolveConfig({ identityProviders: [provider], appleTokens: good() }).appleTokens).toMatchObject({ provider: 'apple', tokenEndpoint: 'https://appleid.apple.com/auth/token', revokeEndpoint: 'https://appleid.apple.com/auth/revoke' })
    // A PEM written with \n in an environment variable.
    expect(resolveConfig({ identityProviders: [provider], appleTokens: { ...good(), privateKeyPem: apple.privateKeyPem.replace(/\n/g, '\\n') } }).appleTokens?.privateKeyPem).toBe(apple.privateKeyPem)
    const bad = [
      { ...good(), teamId: 'short' },
      { ...good(), keyId: 'lower12345' },
      { ...good(), privateKeyPem: 'not a key' },
      { ...good(), tokenEndpoint: 'http://apple.example/auth/token' },
    ]
    for (const appleTokens of bad) expect(() => resolveConfig({ identityProviders: [provider], appleTokens })).toThrow(ConfigError)
    try {
      resolveConfig({ identityProviders: [provider], appleTokens: { ...good(), privateKeyPem: `${apple.privateKeyPem}x` } })
    } catch (e) {
      expect((e as Error).message).not.toContain('PRIVATE KEY-----\n')
    }
    // For a provider that is not configured; plain http to loopback in production.
    expect(() => resolveConfig({ appleTokens: good() })).toThrow(/not configured/)
    expect(() => resolveConfig({ production: true, identityProviders: [provider], appleTokens: { ...good(), revokeEndpoint: apple.revokeEndpoint } })).toThrow(ConfigError)
  })
})
