import * as oauth from 'oauth4webapi'
import { expect, test } from 'vitest'
import { pgliteBackend } from './test-support/databases.js'
import { getMe, refresh, signUp, serverForSuite } from './test-support/server.js'

// An independent, strict OAuth 2.0 client against the running server. The one client option used
// is allowInsecureRequests, because the test server is plain http on loopback.
const suite = serverForSuite(pgliteBackend, {})

const client: oauth.Client = { client_id: 'latchkey-test' }
const insecure = { [oauth.allowInsecureRequests]: true }

async function discover(): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(suite.server.issuer)
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }))
}

test('discovery (RFC 8414): the issuer matches and the endpoints are ours', async () => {
  const as = await discover()
  expect(as.issuer).toBe(suite.server.issuer)
  expect(as.token_endpoint).toBe(`${suite.server.url}/oauth/token`)
  expect(as.revocation_endpoint).toBe(`${suite.server.url}/oauth/revoke`)
  expect(as.jwks_uri).toBe(`${suite.server.url}/.well-known/jwks.json`)
})

test('discovery fails when a different issuer is expected (the check is real)', async () => {
  const other = new URL('http://127.0.0.1:1')
  const res = await fetch(`${suite.server.url}/.well-known/oauth-authorization-server`)
  await expect(oauth.processDiscoveryResponse(other, res)).rejects.toThrow(/issuer/)
})

test('refreshTokenGrantRequest + processRefreshTokenResponse rotate the pair', async () => {
  const as = await discover()
  const pair = await signUp(suite.server.url)
  const res = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), pair.refresh_token, insecure)
  const tokens = await oauth.processRefreshTokenResponse(as, client, res)
  expect(tokens.token_type).toBe('bearer') // oauth4webapi lower-cases it
  expect(tokens.expires_in).toBe(600)
  expect(typeof tokens.refresh_token).toBe('string')
  expect(tokens.refresh_token).not.toBe(pair.refresh_token)
  expect((await getMe(suite.server.url, tokens.access_token)).status).toBe(200)
  // And a spent-and-stale token is reported as the OAuth error it is.
  const again = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), 'not-a-token', insecure)
  await expect(oauth.processRefreshTokenResponse(as, client, again)).rejects.toMatchObject({ error: 'invalid_grant' })
})

test('revocationRequest + processRevocationResponse end the session', async () => {
  const as = await discover()
  const pair = await signUp(suite.server.url)
  const res = await oauth.revocationRequest(as, client, oauth.None(), pair.refresh_token, { ...insecure, additionalParameters: { token_type_hint: 'refresh_token' } })
  await expect(oauth.processRevocationResponse(res)).resolves.toBeUndefined()
  expect((await refresh(suite.server.url, pair.refresh_token)).status).toBe(400)
  // Unknown tokens are fine too (RFC 7009 §2.2).
  await expect(oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), 'whatever', insecure))).resolves.toBeUndefined()
})
