// node-oidc-provider (npm oidc-provider) in its own process, for peer-oidc-provider: one public
// client (token_endpoint_auth_method none, like a mobile app), the refresh_token grant with
// rotation (rotateRefreshToken: true: each use consumes the token and issues a new one; a consumed
// token presented again revokes the grant, RFC 9700 §4.14.2), ES256 JWT access tokens for one
// resource (like Latchkey's), no ID token (scope without openid).
// Adapter: the provider's own in-memory adapter (lib/adapters/memory_adapter.js, its default and the
// only one it ships) over a store of 1,000,000 entries instead of its default 1,000 (which evicts
// the grants of a 10,000-session pool). It is faster than any database, and it checks-then-writes
// a refresh token in two steps (find, consume) with no compare-and-set, which one process on one
// event loop only gets away with because the memory reads do not yield.
import { generateKeyPairSync } from 'node:crypto'
import { createServer } from 'node:http'
import Provider from 'oidc-provider'
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js'
import LRU from 'oidc-provider/lib/helpers/lru.js'
import { childMain } from './children.mjs'
import { createPgAdapter } from './oidc-provider-pg-adapter.mjs'

const RESOURCE = 'urn:latchkey-bench:api'
const CLIENT_ID = 'bench-app'

// Option `databaseUrl`: the bench's minimal PostgreSQL adapter (oidc-provider-pg-adapter.mjs) instead.
childMain(async ({ databaseUrl } = {}) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', use: 'sig', alg: 'ES256' }
  const server = createServer()
  server.keepAliveTimeout = 30_000
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${server.address().port}`
  const store = new LRU({ maxSize: 1_000_000 })
  const pgAdapter = databaseUrl ? await createPgAdapter(databaseUrl) : null
  const provider = new Provider(url, {
    adapter: pgAdapter ? pgAdapter.adapter : (model) => new MemoryAdapter(model, store),
    clients: [
      {
        client_id: CLIENT_ID,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['https://app.example/callback'],
        id_token_signed_response_alg: 'ES256', // the only key is an ES256 one
      },
    ],
    jwks: { keys: [jwk] },
    scopes: ['api', 'offline_access'],
    rotateRefreshToken: true,
    findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'api', audience: RESOURCE, accessTokenTTL: 900, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
      },
    },
    ttl: { RefreshToken: 30 * 24 * 3600, Grant: 30 * 24 * 3600, AccessToken: 900 },
  })
  let closing = false // requests still in flight when the load stops meet a closed pool: not errors of the run
  provider.on('server_error', (ctx, err) => closing || process.stderr.write(`oidc-provider server_error: ${err.message}\n`))
  const callback = provider.callback()
  server.on('request', (req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
      return
    }
    callback(req, res)
  })
  return {
    info: { url, tokenEndpoint: `${url}/token`, clientId: CLIENT_ID },
    close: async () => {
      closing = true
      await new Promise((r) => {
        server.close(() => r())
        server.closeAllConnections()
      })
      await pgAdapter?.close()
    },
    commands: {
      /**
       * One grant and one refresh token per simulated session, made through the provider's own
       * models (what its authorization-code exchange would save), not through its HTTP flow.
       */
      async seed({ count }) {
        const client = await provider.Client.find(CLIENT_ID)
        const tokens = []
        for (let i = 0; i < count; i++) {
          const accountId = `seed-${i}`
          const grant = new provider.Grant({ accountId, clientId: CLIENT_ID })
          grant.addResourceScope(RESOURCE, 'api')
          grant.addOIDCScope('offline_access')
          const grantId = await grant.save()
          const rt = new provider.RefreshToken({ accountId, client, grantId, gty: 'authorization_code', scope: 'api offline_access', resource: RESOURCE, authTime: Math.floor(Date.now() / 1000) })
          tokens.push(await rt.save())
        }
        return { tokens }
      },
    },
  }
})
