import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import type { Hono } from 'hono'
import type { Kysely } from 'kysely'
import { startAdminChannel, type AdminChannel } from './admin/socket.js'
import { createApp, consoleLogger, type AppOptions, type LatchkeyApp } from './app.js'
import { parseRolesCommand, runRolesCommand } from './roles/admin.js'
import { hostForUrl, resolveConfig } from './config.js'
import type { Database } from './db/schema.js'
import type { AppEnv } from './http/context.js'
import type { AuthService } from './service.js'

/**
 * Options of startServer: any part of the configuration (`ServerConfig`; `loadConfig()` gives all
 * of it from the environment), plus the ambient clock and logger. The issuer defaults to
 * `http://<host>:<port>` with the port actually bound (0 picks a free one).
 */
export interface ServerOptions extends Omit<AppOptions, 'issuer'> {
  issuer?: string | undefined
}

export interface RunningServer {
  /** `http://host:port`, no trailing slash. */
  url: string
  port: number
  issuer: string
  db: Kysely<Database>
  app: Hono<AppEnv>
  service: AuthService
  /** The email outbox worker and flows (issue 13). */
  email: LatchkeyApp['email']
  /** The worker revoking Sign in with Apple tokens (issue 15), when configured. */
  providerTokenRevoker: LatchkeyApp['providerTokenRevoker']
  /** What this process hears of other processes' changes (feed/revocation-feed.ts). */
  revocations: LatchkeyApp['revocations']
  /** Stops accepting connections, lets requests in flight finish, then closes the database. */
  close(): Promise<void>
}

/** Starts the auth server on Node (http). */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const config = resolveConfig(options)
  const host = config.host
  // Requests are handed to the app once it is built (after listen: the issuer needs the port).
  const state: { handler?: (req: Request, env: unknown) => Response | Promise<Response> } = {}
  const server = createAdaptorServer({
    fetch: (req: Request, env: unknown) => (state.handler ? state.handler(req, env) : new Response('starting', { status: 503 })),
  }) as Server
  // An idle keep-alive connection is closed by the client before the server closes it: a request
  // sent on a connection the server is closing at that moment is lost (ECONNRESET, no answer).
  // Clients and proxies keep idle connections 4–60 s (undici 4 s, or the server's Keep-Alive hint
  // minus 2 s; load balancers 60 s), so the server waits longer than all of them.
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  // Listen first so the issuer can name the port actually bound (port 0 in tests).
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${hostForUrl(host)}:${port}`
  let built: Awaited<ReturnType<typeof createApp>>
  try {
    built = await createApp({ ...options, ...config, issuer: config.issuer ?? url })
  } catch (e) {
    await new Promise<void>((r) => server.close(() => r()))
    throw e
  }
  const { app, db, service } = built
  state.handler = (req, env) => app.fetch(req, env as never)
  // Finding 7: on a PGlite folder this process holds the folder's lock, so `rotate-keys` cannot
  // open it; it asks this process over the admin socket instead (admin/socket.ts).
  let admin: AdminChannel | undefined
  if (!config.databaseUrl && !config.dataDir.startsWith('memory://')) {
    try {
      admin = await startAdminChannel(config.dataDir, {
        'rotate-keys': () => built.keyRotation.rotate().then((r) => ({ ...r })),
        // Issue 15: `latchkey-server roles ...` against a running server on this folder.
        roles: (args) => runRolesCommand(db, parseRolesCommand(args), service.o.now()),
      })
    } catch (e) {
      // E.g. a folder path longer than a Unix socket path may be (about 100 bytes): the server runs, rotation needs a stop.
      ;(options.logger ?? consoleLogger).warn('the admin socket could not be opened: `latchkey-server rotate-keys` cannot reach this server (stop it to rotate)', {
        error: e instanceof Error ? e.message : String(e),
      })
    }
  }

  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs)
        timer.unref()
        server.close(() => {
          clearTimeout(timer)
          resolve()
        })
        server.closeIdleConnections()
      })
      await admin?.close()
      await built.close()
    })())
  return { url, port, issuer: service.o.issuer, db, app, service, email: built.email, providerTokenRevoker: built.providerTokenRevoker, revocations: built.revocations, close }
}
