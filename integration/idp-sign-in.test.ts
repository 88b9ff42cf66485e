// @latchkey/expo's identity-provider sign-in helpers against the real server and a real OpenID
// provider (oidc-provider on loopback, real ID tokens and JWKS). The native modules are fakes that
// behave as the real ones do: expo-apple-authentication puts the nonce the app passed (the SHA-256
// hex) into the ID token, gives the name only on the first authorization, and rejects with
// ERR_REQUEST_CANCELED when the user cancels; Google puts the raw nonce in the token.
import { createForegroundManager, createOnlineManager, createSessionClient, memoryStorage, oauth2Refresh, silentLogger, type SessionClient } from '@latchkey/core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { IdpSignInError, signInWithApple, signInWithIdProvider, type AppleAuthenticationModule } from '../packages/expo/src/identity/idp-sign-in.js'
import { testBackends } from '../packages/server/src/test-support/databases.js'
import { getMe, signUp, serverForSuite, uniqueEmail } from '../packages/server/src/test-support/server.js'
import { StandInApple } from '../packages/server/src/test-support/stand-in-apple.js'
import { startStandInIdp, type StandInIdp } from '../packages/server/src/test-support/stand-in-idp.js'

let apple: StandInIdp
let google: StandInIdp
const ready = Promise.all([startStandInIdp(['com.example.app']), startStandInIdp(['web.apps.example'])]).then(([a, g]) => {
  apple = a
  google = g
})
beforeAll(() => ready)
afterAll(async () => {
  await apple?.close()
  await google?.close()
})

/** A fake of expo-apple-authentication backed by the stand-in provider. */
function fakeAppleModule(user: { sub: string; email: string; givenName: string; familyName: string }, authorizationCode: () => string = () => 'c.fake') {
  let authorizations = 0
  const calls: Array<{ nonce?: string }> = []
  const module: AppleAuthenticationModule & { cancelNext: boolean } = {
    cancelNext: false,
    AppleAuthenticationScope: { FULL_NAME: 0, EMAIL: 1 },
    async signInAsync(options) {
      calls.push({ nonce: options.nonce })
      if (module.cancelNext) {
        module.cancelNext = false
        throw Object.assign(new Error('The user canceled the authorization attempt'), { code: 'ERR_REQUEST_CANCELED' })
      }
      const first = authorizations++ === 0
      const identityToken = await apple.idToken({ clientId: 'com.example.app', sub: user.sub, nonce: options.nonce, email: user.email, emailVerified: 'true' })
      return {
        user: user.sub,
        identityToken,
        authorizationCode: authorizationCode(),
        email: first ? user.email : null,
        fullName: first ? { givenName: user.givenName, familyName: user.familyName } : { givenName: null, familyName: null },
      }
    },
  }
  return { module, calls }
}

describe.each(testBackends())('identity-provider sign-in from the app helpers on $name', (backend) => {
  const options: Record<string, unknown> = {}
  beforeAll(async () => {
    await ready
    options.identityProviders = [
      { type: 'oidc', name: 'apple', issuer: apple.issuer, jwksUri: apple.jwksUri, clientIds: ['com.example.app'], nonce: 'sha256' },
      { type: 'oidc', name: 'google', issuer: google.issuer, jwksUri: google.jwksUri, clientIds: ['web.apps.example'], nonce: 'raw' },
    ]
  })
  const suite = serverForSuite(backend, options)

  const client = (): SessionClient =>
    createSessionClient({
      refresh: oauth2Refresh({ tokenEndpoint: `${suite.server.url}/oauth/token` }),
      storage: memoryStorage(),
      logger: silentLogger,
      foreground: createForegroundManager({ web: false }),
      online: createOnlineManager({ web: false }),
    })

  test('Apple: hashed nonce to Apple, raw nonce to the server, session started; a cancel is not an error', async () => {
    const email = uniqueEmail('apple')
    const { module, calls } = fakeAppleModule({ sub: `a-${email}`, email, givenName: 'Ada', familyName: 'Lovelace' })
    const session = client()
    await session.start()
    module.cancelNext = true
    expect(await signInWithApple({ session, baseUrl: suite.server.url, apple: module })).toEqual({ status: 'cancelled' })
    expect(await signInWithApple({ session, baseUrl: suite.server.url, apple: module })).toEqual({ status: 'signed_in', created: true })
    expect(calls[1]?.nonce).toMatch(/^[0-9a-f]{64}$/)
    const token = await session.getAccessToken()
    expect(((await (await getMe(suite.server.url, token!)).json()) as { email: string }).email).toBe(email)
    // Each attempt has its own nonce; the second sign-in finds the account.
    expect(await signInWithApple({ session, baseUrl: suite.server.url, apple: module })).toEqual({ status: 'signed_in', created: false })
    expect(calls[2]?.nonce).not.toBe(calls[1]?.nonce)
    session.stop()
  })

  test('Google: the raw nonce in the token; an existing password account gets the sign-in-and-link error', async () => {
    const session = client()
    await session.start()
    const email = uniqueEmail('google')
    const getIdToken = (nonce: string) => google.idToken({ clientId: 'web.apps.example', sub: `g-${email}`, nonce, email })
    expect(await signInWithIdProvider({ session, baseUrl: suite.server.url, getIdToken })).toEqual({ status: 'signed_in', created: true })
    expect(await signInWithIdProvider({ session, baseUrl: suite.server.url, getIdToken: async () => null })).toEqual({ status: 'cancelled' })

    const existing = await signUp(suite.server.url)
    const err = await signInWithIdProvider({
      session: client(),
      baseUrl: suite.server.url,
      getIdToken: (nonce) => google.idToken({ clientId: 'web.apps.example', sub: `g2-${existing.email}`, nonce, email: existing.email }),
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IdpSignInError)
    expect((err as IdpSignInError).code).toBe('account_exists_sign_in_to_link')
    session.stop()
  })
})

describe.each(testBackends())("Sign in with Apple's code, then account deletion, from the app helpers on $name", (backend) => {
  const appleTokens = new StandInApple()
  const options: Record<string, unknown> = { secret: 'a test secret of more than thirty-two characters' }
  beforeAll(async () => {
    await ready
    await appleTokens.start()
    options.identityProviders = [{ type: 'oidc', name: 'apple', issuer: apple.issuer, jwksUri: apple.jwksUri, clientIds: ['com.example.app'], nonce: 'sha256' }]
    options.appleTokens = { teamId: appleTokens.teamId, keyId: appleTokens.keyId, privateKeyPem: appleTokens.privateKeyPem, tokenEndpoint: appleTokens.tokenEndpoint, revokeEndpoint: appleTokens.revokeEndpoint }
  })
  afterAll(() => appleTokens.stop())
  const suite = serverForSuite(backend, options)

  test("signInWithApple sends Apple's authorization code; deleting the account revokes the token Apple gave for it", async () => {
    const email = uniqueEmail('apple-code')
    const sub = `a-${email}`
    const { module } = fakeAppleModule({ sub, email, givenName: 'Grace', familyName: 'Hopper' }, () => appleTokens.code(sub, 'com.example.app'))
    const session = createSessionClient({
      refresh: oauth2Refresh({ tokenEndpoint: `${suite.server.url}/oauth/token` }),
      storage: memoryStorage(),
      logger: silentLogger,
      foreground: createForegroundManager({ web: false }),
      online: createOnlineManager({ web: false }),
    })
    await session.start()
    expect(await signInWithApple({ session, baseUrl: suite.server.url, apple: module })).toEqual({ status: 'signed_in', created: true })
    expect(appleTokens.issued).toHaveLength(1)
    // Deletion of an account without a password: a fresh Apple ID token as the proof.
    const { module: again } = fakeAppleModule({ sub, email, givenName: 'Grace', familyName: 'Hopper' })
    const nonce = 'a raw nonce of the deletion attempt 0123456789'
    const proof = await again.signInAsync({ nonce: await sha256(nonce) })
    const del = await session.fetch(`${suite.server.url}/auth/delete-account/id-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id_token: proof.identityToken, nonce }) })
    expect(del.status).toBe(200)
    await suite.server.providerTokenRevoker!.idle()
    expect(appleTokens.revoked).toEqual(appleTokens.issued)
    expect(appleTokens.refusals).toEqual([])
    session.stop()
  })
})

async function sha256(s: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s))
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('')
}
