import { createHash, randomBytes } from 'node:crypto'
import { SignJWT, calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { testBackends } from '../test-support/databases.js'
import { PASSWORD, TestClock, getMe, postJson, serverForSuite, signUp, uniqueEmail } from '../test-support/server.js'
import { startStandInIdp, type StandInIdp } from '../test-support/stand-in-idp.js'

// Sign-in with an identity provider's ID token (issue 15) against a REAL OpenID provider on loopback
// (oidc-provider: its keys, its /jwks endpoint, its IdToken model), on PGlite and PostgreSQL.

const CLIENTS = ['app-ios', 'app-web']
const nonce = () => randomBytes(24).toString('base64url')
const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex')

// Two providers: a generic one with Google's nonce (raw), and an Apple-like one (SHA-256 hex of the
// nonce in the token, email_verified as the string "true"). Started before the servers (config needs the URLs).
let generic: StandInIdp
let applelike: StandInIdp
const ready = Promise.all([startStandInIdp(CLIENTS), startStandInIdp(['com.example.app'], 'ES256')]).then(([a, b]) => {
  generic = a
  applelike = b
})
beforeAll(() => ready)
afterAll(async () => {
  await generic?.close()
  await applelike?.close()
})

async function authHeader(access: string) {
  return { authorization: `Bearer ${access}` }
}

for (const backend of testBackends()) {
  describe(`ID token sign-in (${backend.name})`, () => {
    const clock = new TestClock()
    const providers = () => [
      { type: 'oidc' as const, name: 'standin', issuer: generic.issuer, jwksUri: generic.jwksUri, clientIds: CLIENTS, nonce: 'raw' as const, jwksCooldownSeconds: 0 },
      { type: 'oidc' as const, name: 'applelike', issuer: applelike.issuer, jwksUri: applelike.jwksUri, clientIds: ['com.example.app'], nonce: 'sha256' as const, algorithms: ['ES256' as const], jwksCooldownSeconds: 0 },
    ]
    // serverForSuite's beforeAll runs after ours: the providers are up when the config is read.
    // Many attempts from one address: the per-address limit is tested on its own below.
    const options: Record<string, unknown> = { now: clock.now, rateLimit: { perIp: { max: 100_000, windowSeconds: 900 } } }
    beforeAll(async () => {
      await ready
      options.identityProviders = providers()
    })
    const suite = serverForSuite(backend, options)
    const base = () => suite.server.url

    const signInIdp = (body: Record<string, unknown>) => postJson(base(), '/auth/id-token', body)

    test('a first sign-in creates an account with the same token pair as password sign-in; the next one signs in to it', async () => {
      const email = uniqueEmail('idp')
      const n1 = nonce()
      const r1 = await signInIdp({ id_token: await generic.idToken({ clientId: 'app-web', sub: `s-${email}`, nonce: n1, email }), nonce: n1, device: 'web' })
      expect(r1.status).toBe(201)
      const p1 = (await r1.json()) as { access_token: string; refresh_token: string; token_type: string }
      expect(p1.token_type).toBe('Bearer')
      const me = (await (await getMe(base(), p1.access_token)).json()) as { email: string; email_verified: boolean }
      expect(me.email).toBe(email)
      expect(me.email_verified).toBe(true) // the provider verified it (issue 13's flag)
      const n2 = nonce()
      const r2 = await signInIdp({ id_token: await generic.idToken({ clientId: 'app-ios', sub: `s-${email}`, nonce: n2, email }), nonce: n2 })
      expect(r2.status).toBe(200)
      const p2 = (await r2.json()) as { access_token: string }
      expect(((await (await getMe(base(), p2.access_token)).json()) as { email: string }).email).toBe(email)
    })

    test('with a DPoP proof (RFC 9449 §5) the new session is bound to the key, as password sign-in; a bad proof is refused before the ID token is spent', async () => {
      const email = uniqueEmail('idp-dpop')
      const { privateKey, publicKey } = await generateKeyPair('ES256')
      const jwk = await exportJWK(publicKey)
      const jkt = await calculateJwkThumbprint(jwk)
      const proof = (nonceValue?: string) =>
        new SignJWT({ htm: 'POST', htu: `${suite.server.issuer}/auth/id-token`, jti: randomBytes(12).toString('base64url'), ...(nonceValue ? { nonce: nonceValue } : {}) })
          .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
          .setIssuedAt(Math.floor(clock.now().getTime() / 1000))
          .sign(privateKey)
      const n = nonce()
      const body = { id_token: await generic.idToken({ clientId: 'app-ios', sub: `s-${email}`, nonce: n, email }), nonce: n }
      const post = async (dpop: string) => fetch(`${base()}/auth/id-token`, { method: 'POST', headers: { 'content-type': 'application/json', dpop }, body: JSON.stringify(body) })
      // A proof for another URL: 400 invalid_dpop_proof, and the ID token is not spent.
      const foreign = await new SignJWT({ htm: 'POST', htu: `${suite.server.issuer}/auth/sign-in`, jti: randomBytes(12).toString('base64url') })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).setIssuedAt(Math.floor(clock.now().getTime() / 1000)).sign(privateKey)
      const bad = await post(foreign)
      expect(bad.status).toBe(400)
      expect(((await bad.json()) as { error: string }).error).toBe('invalid_dpop_proof')
      let r = await post(await proof())
      if (r.status === 400) {
        // The nonce dance (RFC 9449 §8): retry once with the server's nonce.
        expect(((await r.json()) as { error: string }).error).toBe('use_dpop_nonce')
        r = await post(await proof(r.headers.get('dpop-nonce')!))
      }
      expect(r.status).toBe(201)
      const pair = (await r.json()) as { access_token: string; token_type: string }
      expect(pair.token_type).toBe('DPoP')
      expect(decodeJwt(pair.access_token).cnf).toEqual({ jkt })
      // A bound token as Bearer is refused (RFC 9449 §7.1).
      expect((await getMe(base(), pair.access_token)).status).toBe(401)
    })

    test('Apple-style: SHA-256 hex nonce in the token, email_verified "true", private relay address, name on the first sign-in only', async () => {
      const email = `${randomBytes(6).toString('hex')}@privaterelay.appleid.com`
      const raw = nonce()
      const token = await applelike.idToken({ clientId: 'com.example.app', sub: `apple-${email}`, nonce: sha256hex(raw), email, emailVerified: 'true', extra: { is_private_email: 'true' } })
      const r = await signInIdp({ id_token: token, nonce: raw, name: 'Ada Lovelace' })
      expect(r.status).toBe(201)
      const { access_token } = (await r.json()) as { access_token: string }
      const list = (await (await fetch(`${base()}/auth/identities`, { headers: await authHeader(access_token) })).json()) as { identities: Array<{ provider: string; email: string }> }
      expect(list.identities).toEqual([expect.objectContaining({ provider: 'applelike', email })])
      // The raw nonce sent as is (not hashed) by a forger does not match.
      const raw2 = nonce()
      const wrong = await applelike.idToken({ clientId: 'com.example.app', sub: `apple-${email}`, nonce: raw2, email, emailVerified: 'true' })
      expect((await signInIdp({ id_token: wrong, nonce: raw2 })).status).toBe(401)
    })

    test('an account with no password cannot be signed in to with a password, empty or not', async () => {
      const email = uniqueEmail('nopw')
      const n = nonce()
      expect((await signInIdp({ id_token: await generic.idToken({ clientId: 'app-web', sub: `np-${email}`, nonce: n, email }), nonce: n })).status).toBe(201)
      for (const password of ['', ' ', PASSWORD]) {
        const r = await postJson(base(), '/auth/sign-in', { email, password })
        expect(r.status).toBeGreaterThanOrEqual(400)
        expect(r.status).toBeLessThan(500)
      }
    })

    test('forged or wrong tokens: 4xx, never 5xx, and no session', async () => {
      const email = uniqueEmail('forged')
      const sub = `f-${email}`
      const n = nonce()
      const good = (extra: Parameters<StandInIdp['idToken']>[0] = { clientId: 'app-web', sub, nonce: n, email }) => generic.idToken(extra)
      const jwk = generic.privateJwk() as JWK
      const key = await importJWK(jwk, 'RS256')
      const stranger = (await generateKeyPair('RS256')).privateKey
      const now = Math.floor(Date.now() / 1000)
      const claims = { iss: generic.issuer, aud: 'app-web', sub, nonce: n, email, email_verified: true, iat: now, exp: now + 600 }
      const forge = (c: Record<string, unknown>, header: Record<string, unknown> = { alg: 'RS256', kid: jwk.kid }) => new SignJWT(c).setProtectedHeader(header as { alg: string }).sign(key)
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
      const publicMaterial = new TextEncoder().encode(JSON.stringify({ kty: jwk.kty, n: jwk.n, e: jwk.e }))
      const cases: Array<[string, () => Promise<Record<string, unknown>>]> = [
        ['wrong aud', async () => ({ id_token: await forge({ ...claims, aud: 'someone-else' }), nonce: n })],
        ['wrong iss', async () => ({ id_token: await forge({ ...claims, iss: 'https://evil.example' }), nonce: n })],
        ['iss with a trailing slash', async () => ({ id_token: await forge({ ...claims, iss: `${generic.issuer}/` }), nonce: n })],
        ['expired', async () => ({ id_token: await forge({ ...claims, iat: now - 3600, exp: now - 600 }), nonce: n })],
        ['issued in the future', async () => ({ id_token: await forge({ ...claims, iat: now + 600, exp: now + 1200 }), nonce: n })],
        ['bad nonce', async () => ({ id_token: await good(), nonce: nonce() })],
        ['no nonce in the token', async () => ({ id_token: await good({ clientId: 'app-web', sub, email }), nonce: n })],
        ['several audiences, no azp', async () => ({ id_token: await forge({ ...claims, aud: ['app-web', 'other'] }), nonce: n })],
        ['azp not ours', async () => ({ id_token: await forge({ ...claims, azp: 'other' }), nonce: n })],
        ['an untrusted extra audience (azp ours)', async () => ({ id_token: await forge({ ...claims, aud: ['app-web', 'other'], azp: 'app-web' }), nonce: n })],
        ['unknown key', async () => ({ id_token: await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'nope' }).sign(stranger), nonce: n })],
        ['unknown key, known kid', async () => ({ id_token: await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid }).sign(stranger), nonce: n })],
        ['alg none', async () => ({ id_token: `${b64({ alg: 'none' })}.${b64(claims)}.`, nonce: n })],
        ['HS256 with the JWKS public key as secret', async () => ({ id_token: await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: jwk.kid }).sign(publicMaterial), nonce: n })],
        ['unverified email (first sign-in)', async () => ({ id_token: await good({ clientId: 'app-web', sub, nonce: n, email, emailVerified: false }), nonce: n })],
        ['no email (first sign-in)', async () => ({ id_token: await good({ clientId: 'app-web', sub, nonce: n }), nonce: n })],
        ['malformed', async () => ({ id_token: 'not.a.jwt', nonce: n })],
        ['not a string', async () => ({ id_token: 42, nonce: n })],
        ['short nonce', async () => ({ id_token: await good(), nonce: 'x' })],
        ['oversized', async () => ({ id_token: 'a'.repeat(9000), nonce: n })],
        ['tampered payload', async () => {
          const [h, , s] = (await good()).split('.')
          return { id_token: `${h}.${b64({ ...claims, sub: 'someone' })}.${s}`, nonce: n }
        }],
      ]
      for (const [name, body] of cases) {
        const r = await signInIdp(await body())
        const text = await r.text()
        expect({ name, status: r.status, ok: r.status >= 400 && r.status < 500 }).toEqual({ name, status: r.status, ok: true })
        expect(text).not.toContain("eyJ")
        if (process.env.IDP_DEBUG) console.log(name, r.status, text)
      }
      // None of them created the account: the genuine token still makes it now.
      const r = await signInIdp({ id_token: await good(), nonce: n })
      expect(r.status).toBe(201)
    })

    test('expiry and future iat follow the server clock (injected), with a small skew', async () => {
      const email = uniqueEmail('clock')
      const n = nonce()
      const token = await generic.idToken({ clientId: 'app-web', sub: `c-${email}`, nonce: n, email })
      clock.advance(600 + 61) // past exp (ttl 600) and the 60 s skew
      try {
        expect((await signInIdp({ id_token: token, nonce: n })).status).toBe(401)
      } finally {
        clock.advance(-(600 + 61))
      }
      clock.advance(-120) // the server's clock behind: the token's iat is in its future
      try {
        const n2 = nonce()
        const t2 = await generic.idToken({ clientId: 'app-web', sub: `c-${email}`, nonce: n2, email })
        const r = await signInIdp({ id_token: t2, nonce: n2 })
        expect(r.status).toBe(401)
        expect(((await r.json()) as { error_description: string }).error_description).toMatch(/future/)
      } finally {
        clock.advance(120)
      }
    })

    test('a token used in the skew window after its exp cannot be replayed there', async () => {
      const email = uniqueEmail('replay-skew')
      const n = nonce()
      const token = await generic.idToken({ clientId: 'app-web', sub: `rs-${email}`, nonce: n, email })
      clock.advance(600 + 30) // past exp (ttl 600), inside the 60 s skew: still accepted once
      try {
        expect((await signInIdp({ id_token: token, nonce: n })).status).toBe(201)
        expect((await signInIdp({ id_token: token, nonce: n })).status).toBe(401)
      } finally {
        clock.advance(-(600 + 30))
      }
    })

    test('simultaneous first sign-ins of one identity (different tokens) make one account: no 409, no 500', async () => {
      const email = uniqueEmail('race')
      const bodies = await Promise.all(
        Array.from({ length: 6 }, async () => {
          const n = nonce()
          return { id_token: await generic.idToken({ clientId: 'app-web', sub: `race-${email}`, nonce: n, email }), nonce: n }
        }),
      )
      const answers = await Promise.all(bodies.map((b) => signInIdp(b)))
      expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201])
      const ids = new Set(await Promise.all(answers.map(async (r) => ((await (await getMe(base(), ((await r.json()) as { access_token: string }).access_token)).json()) as { id: string }).id)))
      expect(ids.size).toBe(1)
    })

    test('an account made by a provider (no password) is deleted with a fresh ID token of its own identity', async () => {
      const email = uniqueEmail('idp-delete')
      const sub = `d-${email}`
      const fresh = async (subject = sub) => {
        const n = nonce()
        return { id_token: await generic.idToken({ clientId: 'app-web', sub: subject, nonce: n, email }), nonce: n }
      }
      const made = (await (await signInIdp(await fresh())).json()) as { access_token: string; refresh_token: string }
      const del = (body: Record<string, unknown>) => fetch(`${base()}/auth/delete-account/id-token`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${made.access_token}` }, body: JSON.stringify(body) })
      // The password route has nothing to check.
      expect((await fetch(`${base()}/auth/delete-account`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${made.access_token}` }, body: JSON.stringify({ password: PASSWORD }) })).status).toBe(403)
      // Another identity's token is no proof.
      expect((await del(await fresh(`other-${email}`))).status).toBe(403)
      const ok = await del(await fresh())
      expect(ok.status).toBe(200)
      expect(await ok.json()).toMatchObject({ deleted: true, signedOut: 1 })
      expect(await suite.server.db.selectFrom('users').select('id').where('email', '=', email).execute()).toHaveLength(0)
      expect(await suite.server.db.selectFrom('user_identities').select('id').where('subject', '=', sub).execute()).toHaveLength(0)
      expect((await postJson(base(), '/oauth/token', { grant_type: 'refresh_token', refresh_token: made.refresh_token })).status).toBe(400)
    })

    test('a replayed ID token is refused', async () => {
      const email = uniqueEmail('replay')
      const n = nonce()
      const token = await generic.idToken({ clientId: 'app-web', sub: `r-${email}`, nonce: n, email })
      expect((await signInIdp({ id_token: token, nonce: n })).status).toBe(201)
      const again = await signInIdp({ id_token: token, nonce: n })
      expect(again.status).toBe(401)
      expect(((await again.json()) as { error_description: string }).error_description).toMatch(/already used/)
    })

    test('an existing password account is never joined by email: refused with a sign-in-and-link error; linking while signed in works; list; unlink keeps one way in', async () => {
      const { email, access_token } = await signUp(base())
      const sub = `l-${email}`
      const n = nonce()
      const r = await signInIdp({ id_token: await generic.idToken({ clientId: 'app-web', sub, nonce: n, email }), nonce: n })
      expect(r.status).toBe(409)
      expect(((await r.json()) as { error: string }).error).toBe('account_exists_sign_in_to_link')

      // Linking while not signed in is refused.
      const n2 = nonce()
      const t2 = await generic.idToken({ clientId: 'app-web', sub, nonce: n2, email })
      expect((await postJson(base(), '/auth/identities', { id_token: t2, nonce: n2 })).status).toBe(401)
      // Signed in: linked (a fresh token; the refused one above was not consumed by the 401 before verification).
      const n3 = nonce()
      const link = await postJson(base(), '/auth/identities', { id_token: await generic.idToken({ clientId: 'app-web', sub, nonce: n3, email }), nonce: n3 }, await authHeader(access_token))
      expect(link.status).toBe(201)
      const { identity } = (await link.json()) as { identity: { id: string; provider: string } }
      expect(identity.provider).toBe('standin')
      // The identity now signs in to that account.
      const n4 = nonce()
      const s = await signInIdp({ id_token: await generic.idToken({ clientId: 'app-ios', sub, nonce: n4, email }), nonce: n4 })
      expect(s.status).toBe(200)
      const me = (await (await getMe(base(), ((await s.json()) as { access_token: string }).access_token)).json()) as { email: string }
      expect(me.email).toBe(email)
      // Another account cannot link the same identity.
      const other = await signUp(base())
      const n5 = nonce()
      const taken = await postJson(base(), '/auth/identities', { id_token: await generic.idToken({ clientId: 'app-web', sub, nonce: n5 }), nonce: n5 }, await authHeader(other.access_token))
      expect(taken.status).toBe(409)
      // List, then unlink (the account still has its password).
      const list = (await (await fetch(`${base()}/auth/identities`, { headers: await authHeader(access_token) })).json()) as { identities: Array<{ id: string }> }
      expect(list.identities.map((i) => i.id)).toEqual([identity.id])
      const del = await fetch(`${base()}/auth/identities/${identity.id}`, { method: 'DELETE', headers: await authHeader(access_token) })
      expect(del.status).toBe(200)
      const after = (await (await fetch(`${base()}/auth/identities`, { headers: await authHeader(access_token) })).json()) as { identities: unknown[] }
      expect(after.identities).toEqual([])
    })

    test('unlinking the last way to sign in (no password, one identity) is refused; with a second identity it is allowed', async () => {
      const email = uniqueEmail('last')
      const n = nonce()
      const r = await signInIdp({ id_token: await generic.idToken({ clientId: 'app-web', sub: `last-${email}`, nonce: n, email }), nonce: n })
      const { access_token } = (await r.json()) as { access_token: string }
      const h = await authHeader(access_token)
      const first = ((await (await fetch(`${base()}/auth/identities`, { headers: h })).json()) as { identities: Array<{ id: string }> }).identities[0]!.id
      const refused = await fetch(`${base()}/auth/identities/${first}`, { method: 'DELETE', headers: h })
      expect(refused.status).toBe(409)
      expect(((await refused.json()) as { error: string }).error).toBe('last_sign_in_method')
      const raw = nonce()
      const link = await postJson(base(), '/auth/identities', { id_token: await applelike.idToken({ clientId: 'com.example.app', sub: `last-a-${email}`, nonce: sha256hex(raw) }), nonce: raw }, h)
      expect(link.status).toBe(201)
      expect((await fetch(`${base()}/auth/identities/${first}`, { method: 'DELETE', headers: h })).status).toBe(200)
      const { identity } = (await link.json()) as { identity: { id: string } }
      expect((await fetch(`${base()}/auth/identities/${identity.id}`, { method: 'DELETE', headers: h })).status).toBe(409)
      expect((await fetch(`${base()}/auth/identities/nope`, { method: 'DELETE', headers: h })).status).toBe(404)
    })

    test('key rotation at the provider: a token with the new kid makes the verifier fetch the JWKS again', async () => {
      const email = uniqueEmail('rot')
      const n = nonce()
      expect((await signInIdp({ id_token: await generic.idToken({ clientId: 'app-web', sub: `rot-${email}`, nonce: n, email }), nonce: n })).status).toBe(201)
      const before = generic.jwksFetches
      const oldKid = generic.kid
      generic.rotate()
      expect(generic.kid).not.toBe(oldKid)
      const n2 = nonce()
      const r = await signInIdp({ id_token: await generic.idToken({ clientId: 'app-web', sub: `rot-${email}`, nonce: n2, email }), nonce: n2 })
      expect(r.status).toBe(200)
      expect(generic.jwksFetches).toBeGreaterThan(before)
    })
  })
}
