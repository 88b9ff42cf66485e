import { Hono } from 'hono'
import type { AppEnv } from '../http/context.js'
import { DPOP_ALGS } from '../dpop/proof.js'

/** Discovery: RFC 8414 metadata and the RFC 7517 JWK Set. */
export function wellKnownRoutes(o: { issuer: string }) {
  const r = new Hono<AppEnv>()
  r.get('/oauth-authorization-server', (c) => {
    c.header('Cache-Control', 'public, max-age=300')
    return c.json({
      // RFC 8414 §3.3: clients compare this byte for byte with the issuer they expected.
      issuer: o.issuer,
      token_endpoint: `${o.issuer}/oauth/token`,
      revocation_endpoint: `${o.issuer}/oauth/revoke`,
      jwks_uri: `${o.issuer}/.well-known/jwks.json`,
      grant_types_supported: ['refresh_token'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
      // RFC 9449 §5.1: the DPoP proof algorithms this server accepts.
      dpop_signing_alg_values_supported: [...DPOP_ALGS],
      // Non-standard, for clients of this server: where the credentials endpoints are.
      latchkey_sign_in_endpoint: `${o.issuer}/auth/sign-in`,
      latchkey_sign_up_endpoint: `${o.issuer}/auth/sign-up`,
    })
  })
  r.get('/jwks.json', async (c) => {
    c.header('Cache-Control', 'public, max-age=60')
    return c.json(await c.get('service').o.keys.jwks())
  })
  return r
}
