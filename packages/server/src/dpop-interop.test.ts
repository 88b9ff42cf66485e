// Issue 12: an outside client's DPoP (oauth4webapi, RFC 9449) against our server: sign-in (our
// credentials endpoint posted to as a token endpoint, with oauth4webapi's own proof and nonce
// handling), refresh, a protected resource request (/me), and the nonce dance.
import * as oauth from 'oauth4webapi'
import { decodeJwt } from 'jose'
import { expect, test } from 'vitest'
import { pgliteBackend } from './test-support/databases.js'
import { PASSWORD, serverForSuite, signUp } from './test-support/server.js'

const suite = serverForSuite(pgliteBackend, { rateLimit: false })
const client: oauth.Client = { client_id: 'latchkey-test' }
const insecure = { [oauth.allowInsecureRequests]: true } as const

async function discover(): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(suite.server.issuer)
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }))
}

/** Runs `attempt` once more when it failed for a DPoP nonce (the client's side of RFC 9449 §8). */
async function withNonceRetry<T>(attempt: () => Promise<T>): Promise<{ value: T; nonceErrors: number }> {
  try {
    return { value: await attempt(), nonceErrors: 0 }
  } catch (e) {
    if (!oauth.isDPoPNonceError(e)) throw e
    return { value: await attempt(), nonceErrors: 1 }
  }
}

test('oauth4webapi with DPoP: sign-in after the nonce dance, refresh, /me; another key is refused', async () => {
  const as = await discover()
  expect(as.dpop_signing_alg_values_supported).toEqual(['ES256', 'EdDSA'])
  const { email } = await signUp(suite.server.url)
  const keyPair = await oauth.generateKeyPair('ES256')
  const dpop = oauth.DPoP(client, keyPair)
  const jkt = await dpop.calculateThumbprint()

  // Our sign-in endpoint, spoken to as a token endpoint (a form POST with a DPoP proof for its URL).
  const signInAs: oauth.AuthorizationServer = { ...as, token_endpoint: String(as.latchkey_sign_in_endpoint) }
  const signedIn = await withNonceRetry(async () =>
    oauth.processGenericTokenEndpointResponse(
      signInAs,
      client,
      await oauth.genericTokenEndpointRequest(signInAs, client, oauth.None(), 'urn:latchkey:password', { email, password: PASSWORD, device: 'oauth4webapi' }, { DPoP: dpop, ...insecure }),
    ),
  )
  expect(signedIn.nonceErrors).toBe(1) // the server asked for a nonce, the client retried with it
  expect(signedIn.value.token_type).toBe('dpop')
  expect(decodeJwt(signedIn.value.access_token).cnf).toEqual({ jkt })

  const refreshed = await withNonceRetry(async () =>
    oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), signedIn.value.refresh_token!, { DPoP: dpop, ...insecure })),
  )
  expect(refreshed.nonceErrors).toBe(0) // the nonce from the sign-in answer is still good
  expect(refreshed.value.token_type).toBe('dpop')
  expect(refreshed.value.refresh_token).not.toBe(signedIn.value.refresh_token)

  const me = await oauth.protectedResourceRequest(refreshed.value.access_token, 'GET', new URL(`${suite.server.url}/me`), undefined, undefined, { DPoP: dpop, ...insecure })
  expect(me.status).toBe(200)
  expect(((await me.json()) as { email: string }).email).toBe(email)

  // The same token with another client's key, and as a bearer token: refused.
  const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
  // (oauth4webapi turns a 401 challenge into a WWWAuthenticateChallengeError carrying the parsed challenges.)
  const stolen = await oauth
    .protectedResourceRequest(refreshed.value.access_token, 'GET', new URL(`${suite.server.url}/me`), undefined, undefined, { DPoP: thief, ...insecure })
    .catch((e: unknown) => e)
  expect(stolen).toBeInstanceOf(oauth.WWWAuthenticateChallengeError)
  expect((stolen as oauth.WWWAuthenticateChallengeError).status).toBe(401)
  expect((stolen as oauth.WWWAuthenticateChallengeError).cause).toMatchObject([{ scheme: 'dpop', parameters: { error: 'invalid_dpop_proof', algs: 'ES256 EdDSA' } }])
  const bearer = await oauth.protectedResourceRequest(refreshed.value.access_token, 'GET', new URL(`${suite.server.url}/me`), undefined, undefined, insecure).catch((e: unknown) => e)
  expect((bearer as oauth.WWWAuthenticateChallengeError).cause).toMatchObject([{ scheme: 'dpop', parameters: { error: 'invalid_token' } }])
  // A refresh with the thief's key: invalid_dpop_proof; the owner's next refresh still works.
  const thiefRefresh = await withNonceRetry(async () =>
    oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshed.value.refresh_token!, { DPoP: thief, ...insecure })),
  ).catch((e: unknown) => e)
  expect(thiefRefresh).toMatchObject({ error: 'invalid_dpop_proof' })
  const again = await withNonceRetry(async () =>
    oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshed.value.refresh_token!, { DPoP: dpop, ...insecure })),
  )
  expect(again.value.token_type).toBe('dpop')
})
