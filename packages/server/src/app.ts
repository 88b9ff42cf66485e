import { Hono } from 'hono'
import { cors } from 'hono/cors'
import { dateFromServerClock } from './http/date-header.js'
import { HTTPException } from 'hono/http-exception'
import { secureHeaders } from 'hono/secure-headers'
import type { Kysely } from 'kysely'
import { ConfigError, resolveConfig, type ConfigOptions, type ServerConfig } from './config.js'
import { KeyCipher, KeyStore, ensureSigningKey, protectStoredKeys } from './crypto/keys.js'
import { createPasswordHasher, type PasswordHasher } from './crypto/password.js'
import { macKeyFromSecret } from './crypto/refresh-token.js'
import { openDatabase } from './db/connect.js'
import { migrate } from './db/migrations.js'
import type { Database } from './db/schema.js'
import { TOKEN_DELIVERY_HEADER, refreshCookiePolicy } from './http/cookies.js'
import { clientIp } from './http/client-ip.js'
import type { AppEnv } from './http/context.js'
import { bodyLimit } from './http/body-limit.js'
import { noStoreWhenAuthenticated } from './http/no-store.js'
import { ClientAbortError, HttpError, errorBody, errorResponse } from './http/errors.js'
import { authRoutes } from './routes/auth.js'
import { healthRoutes } from './routes/health.js'
import { meRoutes } from './routes/me.js'
import { oauthRoutes } from './routes/oauth.js'
import { sessionRoutes } from './routes/sessions.js'
import { wellKnownRoutes } from './routes/well-known.js'
import { accountRoutes, accountPageRoutes } from './routes/account.js'
import { loadPasswordBlocklist } from './accounts/password-policy.js'
import { adminRoutes } from './roles/routes.js'
import { identityRoutes } from './identity/routes.js'
import { IdTokenVerifier } from './identity/verify.js'
import { createAudiencePolicy, type AudiencePolicy } from './resource-indicators.js'
import { AuthService, type Logger } from './service.js'
import { ensureServerSecret } from './store/secrets.js'
import { serveSpa } from './static.js'
import { startKeyRotation, type KeyRotation } from './key-rotation.js'
import { scheduleRepeating } from './schedule.js'
import { startRevocationFeed, type RevocationFeed } from './feed/revocation-feed.js'
import { startEmail, type Email } from './email/start.js'
import type { ProviderTokens } from './identity/accounts.js'
import { startProviderTokens } from './identity/start-apple-tokens.js'
import type { ProviderTokenRevoker } from './identity/apple-tokens.js'
import { emailFlowRoutes, verifiedSignUpRoutes } from './routes/email-flows.js'

/**
 * Options of createApp: any part of the configuration (each field is described on `ServerConfig`;
 * what is left out gets its default from `DEFAULTS`), an issuer (required here: startServer
 * derives it from the address it binds), and the ambient clock and logger.
 */
export interface AppOptions extends Omit<ConfigOptions, 'issuer'> {
  /** Token issuer and RFC 8414 `issuer`. */
  issuer: string
  /** The password hasher itself, instead of one built from the hash options (tests). */
  passwords?: PasswordHasher
  /** Clock (tests). */
  now?: () => Date
  logger?: Logger
}

export interface LatchkeyApp {
  app: Hono<AppEnv>
  db: Kysely<Database>
  service: AuthService
  /** Signing-key rotation of this app: `rotate()` makes a new key and signs with it at once. */
  keyRotation: KeyRotation
  /** The sessions ended recently, as this process knows them (feed/revocation-feed.ts). */
  revocations: RevocationFeed
  /** The email outbox worker and the flows that send mail (issue 13, email/). */
  email: Email
  /** The worker revoking Sign in with Apple tokens, when `appleTokens` is configured (issue 15). */
  providerTokenRevoker: ProviderTokenRevoker | undefined
  /** Closes the database. */
  close(): Promise<void>
}

const API_PREFIXES = ['/auth', '/oauth', '/me', '/admin', '/.well-known', '/health']
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
  const config = resolveConfig(options)
  const issuer = config.issuer
  if (issuer === undefined) throw new TypeError('createApp: `issuer` is required')
  const audience = config.audience ?? issuer
  if (config.resources.includes(audience)) {
    throw new ConfigError(`LATCHKEY_RESOURCES must name other services, not this server's own audience ${JSON.stringify(audience)}: tokens for it are the ones /me accepts`)
  }
  const audiences = createAudiencePolicy({ own: audience, resources: config.resources })
  const logger = options.logger ?? consoleLogger
  const now = options.now ?? (() => new Date())
  const passwords =
    options.passwords ??
    createPasswordHasher({ concurrency: config.hashConcurrency, maxQueue: config.hashQueue, queueTimeoutMs: config.hashQueueTimeoutMs })
  const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, preparedStatements: config.preparedStatements })
  let keyRotation: KeyRotation | undefined
  let revocations: RevocationFeed | undefined
  try {
    let storedSecret = ''
    // Finding 6: with LATCHKEY_SECRET the private signing keys are encrypted at rest (crypto/keys.ts).
    const cipher = config.secret ? new KeyCipher(config.secret) : undefined
    if (!config.secret) {
      logger.warn(
        'LATCHKEY_SECRET is not set: the signing keys and the refresh-token MAC key are stored in clear in the database, so anyone who can read it can mint tokens. Set LATCHKEY_SECRET (32+ random characters) in production.',
      )
    }
    await migrate(handle.db, async (trx) => {
      await protectStoredKeys(trx, cipher)
      await ensureSigningKey(trx, now(), cipher)
      if (!config.secret) storedSecret = await ensureServerSecret(trx, 'refresh_mac', now())
    })
    await loadPasswordBlocklist()
    const keys = new KeyStore(handle.db, cipher ? { cipher } : {})
    await keys.load()
    // Finding 7: rotations by another process (PostgreSQL) are heard at once; a schedule rotates too.
    keyRotation = await startKeyRotation({ db: handle.db, keys, cipher, databaseUrl: config.listenDatabaseUrl, rotateAfter: config.keyRotation, now, logger })
    const rotation = keyRotation
    // Issue 14: every process hears every revocation (PostgreSQL LISTEN), so the session check needs no read.
    revocations = await startRevocationFeed({ db: handle.db, databaseUrl: config.listenDatabaseUrl, accessTtl: config.accessTtl, now, logger, onNotification: handle.onNotification })
    const feed = revocations
    const service = new AuthService({
      db: handle.db,
      keys,
      macKey: macKeyFromSecret(config.secret ?? storedSecret),
      passwords,
      issuer,
      audience,
      accessTtl: config.accessTtl,
      refreshGrace: config.refreshGrace,
      life: { idle: config.sessionIdle, max: config.sessionMax },
      rateLimit: config.rateLimit,
      checkSessionOnAccess: config.checkSessionOnAccess,
      dpopNonce: config.dpopNonce,
      revocations: feed,
      retention: config.retention,
      passwordPolicy: { minLength: config.passwordMinLength, maxLength: config.passwordMaxLength, appName: config.appName },
      now,
      logger,
    })
    const email = startEmail({ service, config, logger })
    const apple = startProviderTokens({ service, config, logger })
    // Work queued by another process (PostgreSQL NOTIFY, migration 11) is sent at once; polling stays.
    feed.onJobsQueued((table) => (table === 'email_outbox' ? email.outbox.wake() : apple?.revoker.wake()))
    const app = buildRoutes(service, config, audiences, logger, email, apple?.providerTokens)
    const stopPruning = schedulePrune(service, config.pruneInterval, logger)
    const close = async () => {
      await email.outbox.close()
      await apple?.revoker.close()
      await stopPruning()
      await rotation.close()
      await feed.close()
      await handle.close()
    }
    return { app, db: handle.db, service, keyRotation: rotation, revocations: feed, email, providerTokenRevoker: apple?.revoker, close }
  } catch (e) {
    await keyRotation?.close().catch(() => undefined)
    await revocations?.close().catch(() => undefined)
    await handle.close().catch(() => undefined)
    throw e
  }
}

const errorText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))

/** Runs `service.prune()` on a timer that never keeps the process alive; the stopper waits for a run in flight. */
function schedulePrune(service: AuthService, seconds: number, logger: Logger): () => Promise<void> {
  if (!(seconds > 0)) return async () => undefined
  const task = () =>
    service.prune().then(
      (n) => {
        if (n.rateLimits + n.auditEvents + n.sessions > 0) logger.info('pruned expired rows', { ...n })
      },
      (e: unknown) => logger.warn('pruning failed', { error: e instanceof Error ? e.message : String(e) }),
    )
  return scheduleRepeating(task, { firstSeconds: Math.min(60, seconds), everySeconds: seconds })
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

function buildRoutes(service: AuthService, config: ServerConfig, audiences: AudiencePolicy, logger: Logger, email: Email, providerTokens: ProviderTokens | undefined): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  const cookieMaxAge = service.o.life.idle
  const refreshCookie = refreshCookiePolicy(service.o.issuer)

  app.onError((err, c) => {
    if (err instanceof ClientAbortError) {
      logger.info('client aborted the request body', { method: c.req.method, path: c.req.path, ip: c.var.ip ?? null, error: errorText(err.cause) })
    }
    if (err instanceof HttpError) return errorResponse(c, err)
    if (err instanceof HTTPException && err.status < 500) {
      return c.json(errorBody('invalid_request', err.message || 'bad request'), err.status)
    }
    if (err instanceof URIError) {
      return c.json(errorBody('invalid_request', 'malformed percent-encoding in the URL'), 400)
    }
    logger.error('unhandled error', { path: c.req.path, error: errorText(err) })
    return c.json(errorBody('server_error', 'internal error'), 500)
  })
  const allowedMethods = routeMethods(app)
  app.notFound((c) => {
    // RFC 9110 §15.5.6: a known path asked with another method is 405 with the methods it has.
    const allow = allowedMethods(c.req.path)
    if (allow.length > 0) {
      c.header('Allow', allow.join(', '))
      return c.json(errorBody('method_not_allowed', `use ${allow.join(' or ')}`), 405)
    }
    return c.json(errorBody('not_found', 'no such endpoint'), 404)
  })

  app.use(async (c, next) => {
    c.set('service', service)
    c.set('refreshCookie', refreshCookie)
    await next()
  })
  app.use(clientIp({ trustProxy: config.trustProxy, trustedHops: config.trustedHops }))
  app.use(noStoreWhenAuthenticated())
  app.use(dateFromServerClock(() => service.o.now()))
  if (config.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: config.corsOrigins,
        credentials: true,
        allowHeaders: ['Authorization', 'Content-Type', 'DPoP', TOKEN_DELIVERY_HEADER],
        // RFC 9449 §8: browser clients must be able to read the nonce and the DPoP challenge.
        exposeHeaders: ['DPoP-Nonce', 'WWW-Authenticate'],
        allowMethods: ['GET', 'POST', 'DELETE'],
        maxAge: 600,
      }),
    )
  }
  app.use(secureHeaders({ crossOriginEmbedderPolicy: false, crossOriginResourcePolicy: false }))
  app.use(bodyLimit({ maxBytes: config.maxBodyBytes }))

  if (config.requireEmailVerification) app.route('/auth', verifiedSignUpRoutes(email.flows))
  app.route('/auth', authRoutes({ cookieMaxAge, audiences }))
  app.route('/auth/sessions', sessionRoutes())
  app.route('/auth', accountRoutes())
  app.route('/auth', identityRoutes({ cookieMaxAge, audiences, verifier: new IdTokenVerifier(config.identityProviders, { now: service.o.now }), providerTokens }))
  app.route('/auth', emailFlowRoutes(email.flows))
  app.route('/account', accountPageRoutes())
  app.route('/oauth', oauthRoutes({ cookieMaxAge, audiences }))
  app.route('/me', meRoutes())
  app.route('/admin', adminRoutes())
  app.route('/.well-known', wellKnownRoutes({ issuer: service.o.issuer }))
  app.route('/health', healthRoutes())
  if (config.staticDir) app.use(serveSpa(config.staticDir, isApiPath))
  return app
}
