import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import { HTTPException } from 'hono/http-exception'
import { secureHeaders } from 'hono/secure-headers'
import type { Kysely } from 'kysely'
import { DEFAULTS, normalizeIssuer } from './config.js'
import { KeyStore, ensureSigningKey } from './crypto/keys.js'
import { setHashConcurrency } from './crypto/password.js'
import { macKeyFromSecret } from './crypto/refresh-token.js'
import { openDatabase } from './db/connect.js'
import { migrate } from './db/migrations.js'
import type { Database } from './db/schema.js'
import { TOKEN_DELIVERY_HEADER, refreshCookiePolicy } from './http/cookies.js'
import type { AppEnv } from './http/context.js'
import { noStoreWhenAuthenticated } from './http/no-store.js'
import { HttpError } from './http/errors.js'
import { authRoutes } from './routes/auth.js'
import { healthRoutes } from './routes/health.js'
import { meRoutes } from './routes/me.js'
import { oauthRoutes } from './routes/oauth.js'
import { sessionRoutes } from './routes/sessions.js'
import { wellKnownRoutes } from './routes/well-known.js'
import { AuthService, DEFAULT_RATE_LIMITS, type Logger, type RateLimitOptions } from './service.js'
import { ensureServerSecret } from './store/secrets.js'
import { serveSpa } from './static.js'

export interface AppOptions {
  /** PGlite data folder (default ./data); `memory://` for in-memory. Ignored with `databaseUrl`. */
  dataDir?: string
  /** PostgreSQL connection string (instead of PGlite). */
  databaseUrl?: string
  /** Token issuer and RFC 8414 `issuer`; required here (startServer derives it from the address). */
  issuer: string
  /** `aud` of access tokens; default the issuer. */
  audience?: string
  /** Seconds; defaults 600, 60, 30 days, 90 days. */
  accessTtl?: number
  refreshGrace?: number
  sessionIdle?: number
  sessionMax?: number
  /** Limits on sign-in/sign-up; `false` turns them off (benchmarks). */
  rateLimit?: Partial<RateLimitOptions> | false
  /** Key material for refresh-token MACs (≥ 32 chars); default: generated and kept in the database. */
  secret?: string
  /** A built single-page app to serve (index.html fallback for non-API GET paths). */
  staticDir?: string
  /** Origins allowed to call the API from a browser with credentials (CORS). Default none. */
  corsOrigins?: string[]
  /** Trust X-Forwarded-For for the client IP. Default false. */
  trustProxy?: boolean
  /** Protected endpoints also reject access tokens of revoked sessions. Default true. */
  checkSessionOnAccess?: boolean
  /** Largest accepted request body, bytes. Default 64 KiB. */
  maxBodyBytes?: number
  /** Password hashes at once in this process (Argon2id, on libuv's pool). Default: the number of CPU cores. */
  hashConcurrency?: number
  /** Seconds audit events and ended sessions are kept before pruning. Default 90 days. */
  retention?: number
  /** Seconds between prunes (the first a minute after start); 0 turns the schedule off. Default 3600. */
  pruneInterval?: number
  /** Clock (tests). */
  now?: () => Date
  logger?: Logger
}

export interface LatchkeyApp {
  app: Hono<AppEnv>
  db: Kysely<Database>
  service: AuthService
  /** Closes the database. */
  close(): Promise<void>
}

const API_PREFIXES = ['/auth', '/oauth', '/me', '/.well-known', '/health']
export const isApiPath = (path: string) => API_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))

export const silentLogger: Logger = { info() {}, warn() {}, error() {} }

export const consoleLogger: Logger = {
  info: (m, d) => console.log(d ? `${m} ${JSON.stringify(d)}` : m),
  warn: (m, d) => console.warn(d ? `${m} ${JSON.stringify(d)}` : m),
  error: (m, d) => console.error(d ? `${m} ${JSON.stringify(d)}` : m),
}

/**
 * Opens the database, runs migrations (and creates the first signing key and MAC secret under
 * the same lock), and builds the Hono app. Does not listen: see startServer.
 */
export async function createApp(options: AppOptions): Promise<LatchkeyApp> {
  const logger = options.logger ?? consoleLogger
  const now = options.now ?? (() => new Date())
  if (options.hashConcurrency !== undefined) setHashConcurrency(options.hashConcurrency)
  const handle = await openDatabase({ databaseUrl: options.databaseUrl, dataDir: options.dataDir ?? DEFAULTS.dataDir })
  try {
    let storedSecret = ''
    await migrate(handle.db, async (trx) => {
      await ensureSigningKey(trx, now())
      if (!options.secret) storedSecret = await ensureServerSecret(trx, 'refresh_mac', now())
    })
    const keys = new KeyStore(handle.db)
    await keys.load()
    const issuer = normalizeIssuer(options.issuer)
    const service = new AuthService({
      db: handle.db,
      keys,
      macKey: macKeyFromSecret(options.secret ?? storedSecret),
      issuer,
      audience: options.audience ?? issuer,
      accessTtl: options.accessTtl ?? DEFAULTS.accessTtl,
      refreshGrace: options.refreshGrace ?? DEFAULTS.refreshGrace,
      life: { idle: options.sessionIdle ?? DEFAULTS.sessionIdle, max: options.sessionMax ?? DEFAULTS.sessionMax },
      rateLimit: options.rateLimit === false ? false : { ...DEFAULT_RATE_LIMITS, ...options.rateLimit },
      checkSessionOnAccess: options.checkSessionOnAccess ?? true,
      retention: options.retention ?? DEFAULTS.retention,
      now,
      logger,
    })
    const app = buildRoutes(service, options, logger)
    const stopPruning = schedulePrune(service, options.pruneInterval ?? 3600, logger)
    const close = async () => {
      await stopPruning()
      await handle.close()
    }
    return { app, db: handle.db, service, close }
  } catch (e) {
    await handle.close().catch(() => undefined)
    throw e
  }
}

/** Runs `service.prune()` on a timer that never keeps the process alive; the stopper waits for a run in flight. */
function schedulePrune(service: AuthService, seconds: number, logger: Logger): () => Promise<void> {
  if (!(seconds > 0)) return async () => undefined
  let running: Promise<void> | undefined
  const run = () => {
    if (running) return
    running = service
      .prune()
      .then(
        (n) => {
          if (n.rateLimits + n.auditEvents + n.sessions > 0) logger.info('pruned expired rows', { ...n })
        },
        (e: unknown) => logger.warn('pruning failed', { error: e instanceof Error ? e.message : String(e) }),
      )
      .finally(() => {
        running = undefined
      })
  }
  const first = setTimeout(run, Math.min(60, seconds) * 1000)
  const every = setInterval(run, seconds * 1000)
  first.unref()
  every.unref()
  return async () => {
    clearTimeout(first)
    clearInterval(every)
    await running
  }
}

/** The methods the app's routes (not middleware) answer on a path; GET implies HEAD. Read once routes are all added. */
function routeMethods(app: Hono<AppEnv>): (path: string) => string[] {
  let routes: Array<{ method: string; pattern: RegExp }> | undefined
  return (path) => {
    routes ??= app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => ({
        method: r.method,
        pattern: new RegExp(`^${r.path.split('/').map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}/?$`),
      }))
    const methods = new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))
    if (methods.has('GET')) methods.add('HEAD')
    return [...methods].sort()
  }
}

function buildRoutes(service: AuthService, options: AppOptions, logger: Logger): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  const trustProxy = options.trustProxy ?? false
  const cookieMaxAge = service.o.life.idle
  const refreshCookie = refreshCookiePolicy(service.o.issuer)

  app.onError((err, c) => {
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v)
      return c.json({ error: err.error, error_description: err.description }, err.status)
    }
    if (err instanceof HTTPException && err.status < 500) {
      return c.json({ error: 'invalid_request', error_description: err.message || 'bad request' }, err.status)
    }
    if (err instanceof URIError) {
      return c.json({ error: 'invalid_request', error_description: 'malformed percent-encoding in the URL' }, 400)
    }
    logger.error('unhandled error', { path: c.req.path, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) })
    return c.json({ error: 'server_error', error_description: 'internal error' }, 500)
  })
  const allowedMethods = routeMethods(app)
  app.notFound((c) => {
    // RFC 9110 §15.5.6: a known path asked with another method is 405 with the methods it has.
    const allow = allowedMethods(c.req.path)
    if (allow.length > 0) {
      c.header('Allow', allow.join(', '))
      return c.json({ error: 'method_not_allowed', error_description: `use ${allow.join(' or ')}` }, 405)
    }
    return c.json({ error: 'not_found', error_description: 'no such endpoint' }, 404)
  })

  app.use(async (c, next) => {
    c.set('service', service)
    c.set('refreshCookie', refreshCookie)
    await next()
  })
  app.use(noStoreWhenAuthenticated())
  if (options.corsOrigins?.length) {
    app.use(
      cors({
        origin: options.corsOrigins,
        credentials: true,
        allowHeaders: ['Authorization', 'Content-Type', TOKEN_DELIVERY_HEADER],
        allowMethods: ['GET', 'POST', 'DELETE'],
        maxAge: 600,
      }),
    )
  }
  app.use(secureHeaders({ crossOriginEmbedderPolicy: false, crossOriginResourcePolicy: false }))
  app.use(
    bodyLimit({
      maxSize: options.maxBodyBytes ?? 64 * 1024,
      onError: () => {
        throw new HttpError(413, 'invalid_request', 'the request body is too large')
      },
    }),
  )

  app.route('/auth', authRoutes({ trustProxy, cookieMaxAge }))
  app.route('/auth/sessions', sessionRoutes({ trustProxy }))
  app.route('/oauth', oauthRoutes({ trustProxy, cookieMaxAge }))
  app.route('/me', meRoutes())
  app.route('/.well-known', wellKnownRoutes({ issuer: service.o.issuer }))
  app.route('/health', healthRoutes())
  if (options.staticDir) app.use(serveSpa(options.staticDir, isApiPath))
  return app
}
