// A resource server in a few lines: a Hono API that accepts the auth server's access tokens for
// its own audience and follows the revocation feed (issue 14), so a revoked session's token is
// refused within moments rather than when it expires. Served over HTTP like any other service.
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { followRevocations, requireAccessToken } from '@latchkey/server'

/** { authUrl, issuer, audience, databaseUrl, accessTtl } → { url, revocations, close() } */
export async function startResourceApi({ authUrl, issuer, audience, databaseUrl, accessTtl }) {
  const revocations = await followRevocations({ databaseUrl, accessTtl })
  const api = new Hono()
  api.use('/orders/*', requireAccessToken({ jwksUrl: `${authUrl}/.well-known/jwks.json`, issuer, audience, maxTokenAge: accessTtl, revocations }))
  api.get('/orders/', (c) => c.json({ owner: c.get('accessToken').sub, orders: [] }))
  const server = createAdaptorServer({ fetch: api.fetch })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    revocations,
    async close() {
      await new Promise((r) => server.close(r))
      await revocations.close()
    },
  }
}
