import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export type RefreshMode = 'ok' | 'invalid_grant' | 'server_error' | 'rate_limited' | 'malformed' | 'hang' | 'destroy'

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })

/**
 * A real OAuth-ish server on loopback: `POST /oauth/token` rotates the pair (RFC 6749 §6),
 * `POST /oauth/revoke` (RFC 7009) records revocations, `/api/*` requires a current access token
 * and echoes the request body. Counters let tests prove how many requests were made.
 */
export async function startTokenServer(options: { expiresIn?: number } = {}) {
  let generation = 0
  let accessTokens = new Set<string>(['a0'])
  let refreshToken = 'r0'
  const state = {
    mode: 'ok' as RefreshMode,
    refreshDelayMs: 0,
    refreshRequests: 0,
    refreshBodies: [] as string[],
    apiRequests: 0,
    unauthorized: 0,
    revoked: [] as string[],
    revokeDown: false,
    expiresIn: options.expiresIn ?? 600,
  }
  const hanging = new Set<() => void>()
  let held: Promise<void> = Promise.resolve()
  const hangWaiters: Array<{ n: number; resolve: () => void }> = []
  const hang = (drop: () => void) => {
    hanging.add(drop)
    for (const w of hangWaiters.splice(0)) {
      if (hanging.size >= w.n) w.resolve()
      else hangWaiters.push(w)
    }
  }

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req)
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers })
      res.end(typeof payload === 'string' ? payload : JSON.stringify(payload))
    }
    const url = req.url ?? '/'
    if (url === '/oauth/token') {
      state.refreshRequests++
      state.refreshBodies.push(body.toString())
      if (state.refreshDelayMs) await new Promise((r) => setTimeout(r, state.refreshDelayMs))
      await held
      switch (state.mode) {
        case 'hang':
          return void hang(() => res.destroy())
        case 'destroy':
          return void req.socket.destroy()
        case 'server_error':
          return send(503, { error: 'temporarily_unavailable' })
        case 'rate_limited':
          return send(429, { error: 'slow_down' }, { 'Retry-After': '1' })
        case 'malformed':
          return send(200, '{"access_token": 42')
        case 'invalid_grant':
          return send(400, { error: 'invalid_grant', error_description: 'refresh token expired' })
      }
      const form = new URLSearchParams(body.toString())
      if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== refreshToken) {
        return send(400, { error: 'invalid_grant' })
      }
      generation++
      accessTokens = new Set([`a${generation}`])
      refreshToken = `r${generation}`
      return send(200, { access_token: `a${generation}`, token_type: 'Bearer', expires_in: state.expiresIn, refresh_token: refreshToken })
    }
    if (url === '/oauth/revoke') {
      if (state.revokeDown) return void req.socket.destroy()
      state.revoked.push(new URLSearchParams(body.toString()).get('token') ?? '')
      return send(200, {})
    }
    if (url.startsWith('/api/')) {
      state.apiRequests++
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
      // /api/deny/* refuses every token: a second 401 must reach the caller.
      if (!token || !accessTokens.has(token) || url.startsWith('/api/deny')) {
        state.unauthorized++
        return send(401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' })
      }
      return send(200, {
        token,
        method: req.method,
        contentType: req.headers['content-type'] ?? null,
        body: body.toString('base64'),
      })
    }
    send(404, { error: 'not_found' })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve))
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`

  return {
    origin,
    tokenEndpoint: `${origin}/oauth/token`,
    revocationEndpoint: `${origin}/oauth/revoke`,
    state,
    /** The pair the server currently honours. */
    current: () => ({ accessToken: `a${generation}`, refreshToken }),
    /** Server-side expiry: the current access token stops working (the client's clock does not know). */
    expireAccessTokens: () => void (accessTokens = new Set()),
    /** Issue a fresh pair out of band (as another device context would); returns it. */
    rotate() {
      generation++
      accessTokens = new Set([`a${generation}`])
      refreshToken = `r${generation}`
      return { access_token: `a${generation}`, token_type: 'Bearer', expires_in: state.expiresIn, refresh_token: refreshToken }
    },
    /** Token answers wait until the returned function is called (a held answer, released by the test). */
    holdRefreshes() {
      let release!: () => void
      held = new Promise<void>((r) => (release = r))
      return () => {
        held = Promise.resolve()
        release()
      }
    },
    /** Resolves once `n` token requests are being held unanswered (mode 'hang'): an event, not a delay. */
    hanging: (n = 1) => new Promise<void>((resolve) => (hanging.size >= n ? resolve() : hangWaiters.push({ n, resolve }))),
    /** The initial pair as a token response, for signIn. */
    initial: (expiresIn = state.expiresIn) => ({ access_token: 'a0', token_type: 'Bearer', expires_in: expiresIn, refresh_token: 'r0' }),
    async close() {
      for (const drop of hanging) drop()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export type TokenServer = Awaited<ReturnType<typeof startTokenServer>>
