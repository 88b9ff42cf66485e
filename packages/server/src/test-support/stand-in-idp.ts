import { generateKeyPairSync } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The tests' stand-in identity provider: node-oidc-provider (npm oidc-provider) on loopback, with
 * its own signing keys, its real JWKS endpoint (/jwks) and discovery document, issuing REAL ID
 * tokens through its IdToken model (what its token endpoint returns after a code exchange). Plain
 * http on 127.0.0.1: allowed for a provider URL only on loopback outside production (providers.ts).
 *
 * `rotate()` replaces the provider's key (a new kid) on the same issuer, as Apple and Google do.
 */
export interface StandInIdp {
  issuer: string
  jwksUri: string
  /** Requests for /jwks so far (the verifier's fetches). */
  jwksFetches: number
  kid: string
  idToken(input: { clientId: string; sub: string; nonce?: string; email?: string; emailVerified?: boolean | 'true' | 'false'; extra?: Record<string, unknown> }): Promise<string>
  /** The current key as a private JWK (tests that forge tokens with the right kid). */
  privateJwk(): Record<string, unknown>
  rotate(): void
  close(): Promise<void>
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- oidc-provider ships no types
type AnyProvider = any

export async function startStandInIdp(clientIds: string[], alg: 'RS256' | 'ES256' = 'RS256'): Promise<StandInIdp> {
  // oidc-provider ships no types: imported by a name the compiler does not resolve (untyped, as bench/ uses it).
  const moduleName: string = 'oidc-provider'
  const { default: Provider } = (await import(moduleName)) as { default: AnyProvider }
  const server: Server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  let generation = 0
  let provider: AnyProvider
  let jwk: Record<string, unknown> = {}
  const make = () => {
    generation++
    const { privateKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 })
    jwk = { ...privateKey.export({ format: 'jwk' }), kid: `stand-in-${generation}`, use: 'sig', alg }
    provider = new Provider(issuer, {
      clients: clientIds.map((client_id) => ({
        client_id,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: ['https://app.example/callback'],
        id_token_signed_response_alg: alg,
      })),
      jwks: { keys: [jwk] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'] },
      findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
      features: { devInteractions: { enabled: false } },
      ttl: { IdToken: 600 },
    })
  }
  make()
  const idp: StandInIdp = {
    issuer,
    jwksUri: `${issuer}/jwks`,
    jwksFetches: 0,
    get kid() {
      return jwk.kid as string
    },
    async idToken(input) {
      const client = await provider.Client.find(input.clientId)
      const available: Record<string, unknown> = { sub: input.sub }
      if (input.email !== undefined) {
        available.email = input.email
        available.email_verified = input.emailVerified ?? true
      }
      const token = new provider.IdToken(available, { client })
      token.scope = 'openid email'
      if (input.nonce !== undefined) token.set('nonce', input.nonce)
      for (const [k, v] of Object.entries(input.extra ?? {})) token.set(k, v)
      return token.issue({ use: 'idtoken' }) as Promise<string>
    },
    privateJwk: () => jwk,
    rotate: make,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      }),
  }
  server.on('request', (req, res) => {
    if (req.url === '/jwks') idp.jwksFetches++
    provider.callback()(req, res)
  })
  return idp
}
