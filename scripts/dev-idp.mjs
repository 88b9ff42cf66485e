// A development-only stand-in for an identity provider (Sign in with Apple, Google): node-oidc-provider
// on loopback with its built-in login and consent pages, issuing real signed ID tokens to the example
// app's web build by the authorization code flow with PKCE for a public client (RFC 9700 §2.1.1, the
// browser-based apps practice: no implicit flow), the nonce in the ID token. Any login name
// signs in: it becomes the subject, and the email `<name>@example.test` (or the name, if it is an
// address), marked verified. `npm start` runs one per provider and tells the server to trust them;
// nothing here is ever used in production (the server refuses plain-http issuers there).
import { createServer } from 'node:http'

export const DEV_IDP_CLIENT = 'latchkey-example-web'
/** The example app on iOS and Android (a development build: its scheme, latchkey-example://). */
export const DEV_IDP_NATIVE_CLIENT = 'latchkey-example-native'

/**
 * Starts the stand-in on 127.0.0.1:`port` (0: any free port).
 * @param {{ port: number, appOrigins: string[] }} o the example app's origins (redirect to `${origin}/idp-callback`)
 * @returns {Promise<{ issuer: string, close(): Promise<void> }>}
 */
export async function startDevIdp(o) {
  const { default: Provider } = await import('oidc-provider')
  const server = createServer()
  await new Promise((resolve) => server.listen(o.port, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${server.address().port}`
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: DEV_IDP_CLIENT,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: o.appOrigins.map((origin) => `${origin}/idp-callback`),
        id_token_signed_response_alg: 'RS256',
      },
      {
        client_id: DEV_IDP_NATIVE_CLIENT,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: ['latchkey-example://idp-callback'],
        id_token_signed_response_alg: 'RS256',
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // The email in the ID token itself, as Google and Apple put it there.
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      claims: () => ({ sub, email: sub.includes('@') ? sub.toLowerCase() : `${sub.toLowerCase()}@example.test`, email_verified: true }),
    }),
    // The built-in login and consent pages (oidc-provider's devInteractions): development only.
    features: { devInteractions: { enabled: true } },
    // A development run over plain http on loopback: no Secure cookies.
    cookies: { long: { secure: false }, short: { secure: false } },
    ttl: { IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  })
  provider.proxy = false
  server.on('request', provider.callback())
  return {
    issuer,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
