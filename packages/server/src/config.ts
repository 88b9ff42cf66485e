import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import { defaultCorsOrigins } from './http/development-origins.js'
import { isResourceIndicator } from './resource-indicators.js'
import { DEFAULT_RATE_LIMITS, type RateLimitOptions } from './service.js'
import { DEFAULT_PASSWORD_POLICY } from './accounts/password-policy.js'
import { identityProvidersFromEnv, resolveIdentityProviders, type IdentityProvider, type IdentityProviderInput } from './identity/providers.js'
import { appleTokensFromEnv, resolveAppleTokens, type AppleTokenInput } from './identity/apple-tokens-config.js'
import type { AppleTokenConfig } from './identity/apple-tokens.js'

/**
 * The server's configuration, every value resolved: what `loadConfig()` reads from the
 * environment and what `startServer()` / `createApp()` run with (their options are any subset of
 * it; `resolveConfig` fills in the rest from `DEFAULTS`, the one place defaults live).
 */
export interface ServerConfig {
  /** `PORT`; 0 picks a free port. */
  port: number
  /** `HOST`. */
  host: string
  /** `DATA_DIR`: PGlite data folder; ignored when `databaseUrl` is set. `'memory://'` keeps PGlite in memory. */
  dataDir: string
  /** `DATABASE_URL`: PostgreSQL connection string; when set, PGlite is not used. */
  databaseUrl: string | undefined
  /**
   * `LATCHKEY_LISTEN_URL`: PostgreSQL connection string of the LISTEN connections (the revocation
   * feed, signing-key rotations); default `databaseUrl`. A transaction-mode pooler cannot keep a
   * LISTEN: behind one, point this at a direct (or session-mode) connection to the same database.
   */
  listenDatabaseUrl: string | undefined
  /**
   * `LATCHKEY_ISSUER`: `iss` of access tokens and the RFC 8414 `issuer`. Unset: `http://host:port`
   * with the port actually bound (startServer), so `PORT=0` still names a reachable issuer.
   */
  issuer: string | undefined
  /**
   * The server's own audience: `aud` of access tokens requested without a `resource`, the only
   * audience /me, the session endpoints and sign-out accept. Unset: the issuer.
   */
  audience: string | undefined
  /**
   * `LATCHKEY_RESOURCES` (comma-separated): the resource servers (APIs) this server issues access
   * tokens for. A token request naming one of them in `resource` (RFC 8707 §2) gets a token whose
   * `aud` is exactly that URI, accepted by that service only. Each is an absolute URI without a
   * fragment, compared byte for byte (RFC 8707 §2). Default none: every token is for this server.
   */
  resources: string[]
  /** `LATCHKEY_ACCESS_TTL`: access token lifetime, seconds. */
  accessTtl: number
  /**
   * `LATCHKEY_REFRESH_GRACE`: window (seconds) in which the previous refresh token gets the
   * current pair back. With the client's deadlines it is one design: it must exceed the latest
   * moment a client that stays online retries after a lost answer (`latestRetryArrivalMs` in
   * @latchkey/core: 21 s after one lost answer, 47 s after three, with the core's defaults).
   */
  refreshGrace: number
  /** `LATCHKEY_SESSION_IDLE`: a session unused for this long (seconds) ends. */
  sessionIdle: number
  /** `LATCHKEY_SESSION_MAX`: a session ends this long (seconds) after sign-in, however much it is used. */
  sessionMax: number
  /** `LATCHKEY_SECRET`: key for refresh-token MACs (≥ 32 chars); unset: generated once and kept in the database. */
  secret: string | undefined
  /** `LATCHKEY_RETENTION`: audit events and ended sessions are deleted this long (seconds) after they happened or ended. */
  retention: number
  /** `LATCHKEY_HASH_CONCURRENCY`: password hashes at once in this process; undefined: one per CPU core. */
  hashConcurrency: number | undefined
  /**
   * Password hashes waiting for a slot at most (a memory bound; a hash whose expected wait passes
   * `hashQueueTimeoutMs` is refused sooner); beyond it sign-up and sign-in answer 503
   * `temporarily_unavailable` with Retry-After at once. Undefined: 256 × hashConcurrency.
   */
  hashQueue: number | undefined
  /** Milliseconds a sign-in or sign-up may wait for a hashing slot before it is answered 503. Undefined: 10 000. */
  hashQueueTimeoutMs: number | undefined
  /** `LATCHKEY_STATIC_DIR`: a built single-page app to serve too (index.html for non-API GET paths). */
  staticDir: string | undefined
  /** `LATCHKEY_RATE_LIMIT` (`off` → false): limits on sign-in/sign-up; false turns them off (benchmarks). */
  rateLimit: RateLimitOptions | false
  /**
   * `LATCHKEY_TRUST_PROXY`: take the client address from `X-Forwarded-For`. Only behind reverse
   * proxies you run, and only when clients cannot reach the server around them.
   */
  trustProxy: boolean
  /**
   * `LATCHKEY_TRUSTED_HOPS`: how many of your proxies append to `X-Forwarded-For`; the client
   * address is the entry this many from the right (entries further left are written by the client).
   */
  trustedHops: number
  /** `LATCHKEY_SESSION_CHECK`: protected endpoints also reject access tokens of sessions that are not live (revoked, idle, past their absolute lifetime). */
  checkSessionOnAccess: boolean
  /**
   * `LATCHKEY_DPOP_NONCE`: DPoP proofs at the token endpoints (sign-up, sign-in, /oauth/token,
   * revocation) must carry a server nonce (RFC 9449 §8; clients get one from `use_dpop_nonce`).
   * Default on: a proof made ahead of time on a compromised device is then useless after a minute
   * or two. Protected resources never require one.
   */
  dpopNonce: boolean
  /**
   * `LATCHKEY_DB_PREPARED`: on PostgreSQL the hot statements (a refresh, a session read, DPoP jtis)
   * are named prepared statements, parsed once per connection (db/prepared.ts). `off` sends them
   * unnamed, for a connection pooler that hands one client's statements to several server
   * connections (PgBouncer in transaction mode before 1.21 or without `max_prepared_statements`).
   */
  preparedStatements: boolean
  /**
   * `LATCHKEY_CORS_ORIGINS`: origins allowed to call the API from a browser with credentials (CORS).
   * Unset: none, except in local development (`production` false and a plain-http loopback
   * server), where the Expo dev server's http://localhost:8081 and http://127.0.0.1:8081 are.
   */
  corsOrigins: string[]
  /** Largest accepted request body, bytes. */
  maxBodyBytes: number
  /**
   * `LATCHKEY_KEY_ROTATION`: a signing key is replaced once it has signed this long (seconds);
   * `off` (false): only `latchkey-server rotate-keys` rotates. Default 90 days: NIST SP 800-57
   * Part 1 Rev. 5 §5.3 bounds every key's cryptoperiod, and these private keys sit online in the
   * database, so the period is kept far below the 1–3 years the standard allows a signature key;
   * clients need nothing (the JWKS carries the previous key). Must exceed twice the access-token
   * lifetime, so a retired key signed nothing that is still valid.
   */
  keyRotation: number | false
  /** Seconds between prunes (the first a minute after start); 0 turns the schedule off. */
  pruneInterval: number
  /** Milliseconds close() waits for requests in flight before cutting connections. */
  shutdownTimeoutMs: number
  /**
   * `LATCHKEY_PASSWORD_MIN_LENGTH`: fewest characters (code points after NFKC) of a new password,
   * 8 to 64. Default 8 (NIST SP 800-63B-4 §3.1.1.2 for a password with a second factor; it asks
   * 15 for a password that is the only factor).
   */
  passwordMinLength: number
  /** `LATCHKEY_PASSWORD_MAX_LENGTH`: most characters of a new password, 64 to 1024 (NIST: at least 64). Default 256. */
  passwordMaxLength: number
  /** `LATCHKEY_APP_NAME`: the app's name; a new password may not contain it (a context word). Default `latchkey`. */
  appName: string
  /**
   * Identity providers whose ID tokens sign in (identity/providers.ts): `LATCHKEY_APPLE_CLIENT_IDS`,
   * `LATCHKEY_GOOGLE_CLIENT_IDS`, `LATCHKEY_OIDC_ISSUER` + `LATCHKEY_OIDC_JWKS_URI` +
   * `LATCHKEY_OIDC_CLIENT_IDS` (comma-separated client ids). Default none.
   */
  identityProviders: IdentityProvider[]
  /**
   * Sign in with Apple's key, to exchange the app's authorization code and revoke Apple's tokens when
   * an account is deleted or the identity unlinked (identity/apple-tokens.ts): `LATCHKEY_APPLE_TEAM_ID`,
   * `LATCHKEY_APPLE_KEY_ID`, `LATCHKEY_APPLE_PRIVATE_KEY` (the .p8 contents). Default none.
   */
  appleTokens: AppleTokenConfig | undefined
  /**
   * `SMTP_URL`: where email is sent (nodemailer SMTP URL, `smtp://` with STARTTLS when offered, or
   * `smtps://`; credentials in the URL). Unset: messages go to the server log (development only).
   */
  smtpUrl: string | undefined
  /** `MAIL_FROM`: the sender, `address` or `Name <address>`; required with `SMTP_URL`. */
  mailFrom: string
  /**
   * `LATCHKEY_REQUIRE_EMAIL_VERIFICATION`: sign-in is refused until the address is verified, and
   * sign-up answers 202 without tokens, alike for new and taken addresses. Default off.
   */
  requireEmailVerification: boolean
}

/** What startServer/createApp accept: any part of the configuration; `rateLimit` may be partial. */
export type ConfigOptions = Partial<Omit<ServerConfig, 'rateLimit' | 'identityProviders' | 'appleTokens'>> & {
  /** The identity providers as configured (resolved and checked by `resolveConfig`). */
  identityProviders?: IdentityProviderInput[]
  appleTokens?: AppleTokenInput

  rateLimit?: Partial<RateLimitOptions> | false
  /** `NODE_ENV=production`: no development defaults (today: the Expo dev server's CORS origins). Default false, as NODE_ENV unset. */
  production?: boolean
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const DAY = 86_400

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: DAY }

/** `600`, `600s`, `10m`, `12h`, `30d` → seconds. */
export function parseDuration(name: string, value: string): number {
  const m = /^\s*(\d{1,12})\s*([smhd]?)\s*$/i.exec(value)
  if (!m) throw new ConfigError(`${name} must be a duration in seconds or with a unit s/m/h/d (e.g. 600, 10m, 30d); got ${JSON.stringify(value)}`)
  const seconds = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!
  if (seconds <= 0) throw new ConfigError(`${name} must be greater than 0; got ${JSON.stringify(value)}`)
  return seconds
}

function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value.trim()) || Number(value) > 65535) {
    throw new ConfigError(`PORT must be an integer from 0 to 65535; got ${JSON.stringify(value)}`)
  }
  return Number(value)
}

function parseUrl(name: string, value: string, protocols: string[]): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`${name} must be a URL (${protocols.join(' or ')}); got a value that does not parse`)
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}; got ${url.protocol}`)
  }
  return value
}

/** Brackets IPv6 literals for use in a URL. */
export function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

export const DEFAULTS = {
  port: 8787,
  host: '127.0.0.1',
  dataDir: './data',
  accessTtl: 600,
  refreshGrace: 60,
  sessionIdle: 30 * DAY,
  sessionMax: 90 * DAY,
  retention: 90 * DAY,
  rateLimit: DEFAULT_RATE_LIMITS,
  trustProxy: false,
  trustedHops: 1,
  checkSessionOnAccess: true,
  dpopNonce: true,
  preparedStatements: true,
  maxBodyBytes: 64 * 1024,
  pruneInterval: 3600,
  keyRotation: 90 * DAY,
  shutdownTimeoutMs: 10_000,
  passwordMinLength: DEFAULT_PASSWORD_POLICY.minLength,
  passwordMaxLength: DEFAULT_PASSWORD_POLICY.maxLength,
  appName: DEFAULT_PASSWORD_POLICY.appName,
} as const

/** The limits with defaults filled in; the account-wide ceiling keeps the per-account window unless given one. */
function rateLimits(given: ConfigOptions['rateLimit']): RateLimitOptions | false {
  if (given === false) return false
  const perAccount = given?.perAccount ?? DEFAULTS.rateLimit.perAccount
  return {
    perAccount,
    perAccountTotal: given?.perAccountTotal ?? { max: DEFAULTS.rateLimit.perAccountTotal.max, windowSeconds: perAccount.windowSeconds },
    perIp: given?.perIp ?? DEFAULTS.rateLimit.perIp,
  }
}

/** Every default filled in, once: the only place the server's defaults are applied. */
export function resolveConfig(options: ConfigOptions = {}): ServerConfig {
  const o = options
  const identityProviders = resolveIdentityProviders(o.identityProviders ?? [], o.production ?? false)
  return {
    port: o.port ?? DEFAULTS.port,
    host: o.host ?? DEFAULTS.host,
    dataDir: resolveDataDir(o.dataDir ?? DEFAULTS.dataDir),
    databaseUrl: o.databaseUrl || undefined,
    listenDatabaseUrl: o.databaseUrl ? o.listenDatabaseUrl || o.databaseUrl : undefined,
    issuer: o.issuer === undefined || o.issuer === '' ? undefined : normalizeIssuer(o.issuer),
    audience: o.audience || undefined,
    resources: parseResources('resources', o.resources ?? []),
    accessTtl: o.accessTtl ?? DEFAULTS.accessTtl,
    refreshGrace: o.refreshGrace ?? DEFAULTS.refreshGrace,
    sessionIdle: o.sessionIdle ?? DEFAULTS.sessionIdle,
    sessionMax: o.sessionMax ?? DEFAULTS.sessionMax,
    secret: o.secret || undefined,
    retention: o.retention ?? DEFAULTS.retention,
    hashConcurrency: o.hashConcurrency,
    hashQueue: o.hashQueue,
    hashQueueTimeoutMs: o.hashQueueTimeoutMs,
    staticDir: o.staticDir || undefined,
    rateLimit: rateLimits(o.rateLimit),
    trustProxy: o.trustProxy ?? DEFAULTS.trustProxy,
    trustedHops: o.trustedHops ?? DEFAULTS.trustedHops,
    checkSessionOnAccess: o.checkSessionOnAccess ?? DEFAULTS.checkSessionOnAccess,
    dpopNonce: o.dpopNonce ?? DEFAULTS.dpopNonce,
    preparedStatements: o.preparedStatements ?? DEFAULTS.preparedStatements,
    corsOrigins: o.corsOrigins ?? defaultCorsOrigins({ production: o.production ?? false, issuer: o.issuer || undefined, host: o.host ?? DEFAULTS.host }),
    maxBodyBytes: o.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
    pruneInterval: o.pruneInterval ?? DEFAULTS.pruneInterval,
    keyRotation: o.keyRotation ?? DEFAULTS.keyRotation,
    shutdownTimeoutMs: o.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs,
    ...passwordLengths(o.passwordMinLength ?? DEFAULTS.passwordMinLength, o.passwordMaxLength ?? DEFAULTS.passwordMaxLength),
    appName: o.appName?.trim() || DEFAULTS.appName,
    identityProviders,
    appleTokens: resolveAppleTokens(o.appleTokens, identityProviders, o.production ?? false),
    ...mail(o.smtpUrl || undefined, o.mailFrom?.trim() || undefined),
    requireEmailVerification: o.requireEmailVerification ?? false,
  }
}

/** `SMTP_URL` and `MAIL_FROM` (email/transport.ts): a sender is required once mail is really sent. */
function mail(smtpUrl: string | undefined, from: string | undefined): { smtpUrl: string | undefined; mailFrom: string } {
  if (smtpUrl !== undefined) parseUrl('SMTP_URL', smtpUrl, ['smtp:', 'smtps:'])
  if (from !== undefined && !/^(?:[^<>\r\n]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/.test(from)) {
    throw new ConfigError(`MAIL_FROM must be an address or "Name <address>"; got ${JSON.stringify(from)}`)
  }
  if (smtpUrl !== undefined && from === undefined) throw new ConfigError('MAIL_FROM is required with SMTP_URL (the sender address of the messages)')
  return { smtpUrl, mailFrom: from ?? 'Latchkey <no-reply@localhost>' }
}

/** NIST SP 800-63B-4 §3.1.1.2: a minimum of at least 8, and at least 64 characters allowed. */
function passwordLengths(min: number, max: number): { passwordMinLength: number; passwordMaxLength: number } {
  if (!Number.isInteger(min) || min < 8 || min > 64) throw new ConfigError(`LATCHKEY_PASSWORD_MIN_LENGTH must be an integer from 8 to 64; got ${JSON.stringify(min)}`)
  if (!Number.isInteger(max) || max < 64 || max > 1024) throw new ConfigError(`LATCHKEY_PASSWORD_MAX_LENGTH must be an integer from 64 to 1024; got ${JSON.stringify(max)}`)
  return { passwordMinLength: min, passwordMaxLength: max }
}

const ON = ['1', 'on', 'true', 'yes']
const OFF = ['0', 'off', 'false', 'no']

/**
 * Reads the configuration from an environment (default `process.env`), validated and with every
 * default resolved: the CLI runs `startServer(loadConfig())`. A bad value throws a `ConfigError`
 * whose message names the variable and what it expects; values of secrets are never echoed.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const get = (name: string) => {
    const v = env[name]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
  }
  const flag = (name: string, fallback: boolean): boolean => {
    const v = get(name)?.toLowerCase()
    if (v === undefined) return fallback
    if (ON.includes(v)) return true
    if (OFF.includes(v)) return false
    throw new ConfigError(`${name} must be on or off; got ${JSON.stringify(get(name))}`)
  }
  const port = get('PORT') !== undefined ? parsePort(get('PORT')!) : undefined
  const databaseUrl = get('DATABASE_URL')
  if (databaseUrl !== undefined) parseUrl('DATABASE_URL', databaseUrl, ['postgres:', 'postgresql:'])
  const listenDatabaseUrl = get('LATCHKEY_LISTEN_URL')
  if (listenDatabaseUrl !== undefined) {
    parseUrl('LATCHKEY_LISTEN_URL', listenDatabaseUrl, ['postgres:', 'postgresql:'])
    if (databaseUrl === undefined) throw new ConfigError('LATCHKEY_LISTEN_URL is for PostgreSQL: set DATABASE_URL too (PGlite needs no LISTEN connection)')
  }
  const issuer = get('LATCHKEY_ISSUER')
  if (issuer !== undefined) parseUrl('LATCHKEY_ISSUER', issuer, ['http:', 'https:'])
  const int = (name: string) => {
    const v = get(name)
    if (v === undefined) return undefined
    if (!/^\d{1,5}$/.test(v)) throw new ConfigError(`${name} must be an integer; got ${JSON.stringify(v)}`)
    return Number(v)
  }
  const dur = (name: string) => (get(name) !== undefined ? parseDuration(name, get(name)!) : undefined)
  const hashRaw = get('LATCHKEY_HASH_CONCURRENCY')
  if (hashRaw !== undefined && !/^[1-9]\d{0,2}$/.test(hashRaw)) {
    throw new ConfigError(`LATCHKEY_HASH_CONCURRENCY must be an integer from 1 to 999; got ${JSON.stringify(hashRaw)}`)
  }
  const secret = get('LATCHKEY_SECRET')
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError('LATCHKEY_SECRET must be at least 32 characters (use 32 random bytes, e.g. `openssl rand -base64 32`)')
  }
  // Finding 6 (OWASP ASVS 5.0 V13.3, NIST SP 800-57): without the secret the signing keys and the
  // refresh-token MAC key sit in clear in the database, so a read of it is enough to mint tokens.
  if (secret === undefined && env.NODE_ENV?.trim() === 'production') {
    throw new ConfigError(
      'LATCHKEY_SECRET is required when NODE_ENV=production: without it the signing keys and the refresh-token MAC key are stored in clear in the database (use 32 random bytes, e.g. `openssl rand -base64 32`)',
    )
  }
  const trustProxy = flag('LATCHKEY_TRUST_PROXY', DEFAULTS.trustProxy)
  const hopsRaw = get('LATCHKEY_TRUSTED_HOPS')
  if (hopsRaw !== undefined && !/^[1-9]$/.test(hopsRaw)) {
    throw new ConfigError(`LATCHKEY_TRUSTED_HOPS must be an integer from 1 to 9 (the number of your proxies that append to X-Forwarded-For); got ${JSON.stringify(hopsRaw)}`)
  }
  if (hopsRaw !== undefined && !trustProxy) {
    throw new ConfigError('LATCHKEY_TRUSTED_HOPS is set but LATCHKEY_TRUST_PROXY is off: X-Forwarded-For is ignored unless LATCHKEY_TRUST_PROXY=on')
  }
  const accessTtl = dur('LATCHKEY_ACCESS_TTL')
  const rotationRaw = get('LATCHKEY_KEY_ROTATION')
  const keyRotation = rotationRaw === undefined ? undefined : OFF.includes(rotationRaw.toLowerCase()) ? false : parseDuration('LATCHKEY_KEY_ROTATION', rotationRaw)
  if (keyRotation !== undefined && keyRotation !== false && keyRotation <= 2 * (accessTtl ?? DEFAULTS.accessTtl)) {
    throw new ConfigError(
      `LATCHKEY_KEY_ROTATION must be longer than twice LATCHKEY_ACCESS_TTL (${accessTtl ?? DEFAULTS.accessTtl} s): a key retired by the next rotation must have stopped signing tokens that are still valid; got ${JSON.stringify(rotationRaw)}`,
    )
  }
  return resolveConfig({
    port,
    host: get('HOST'),
    dataDir: get('DATA_DIR'),
    databaseUrl,
    listenDatabaseUrl,
    issuer,
    accessTtl,
    keyRotation,
    refreshGrace: get('LATCHKEY_REFRESH_GRACE') === '0' ? 0 : dur('LATCHKEY_REFRESH_GRACE'),
    sessionIdle: dur('LATCHKEY_SESSION_IDLE'),
    sessionMax: dur('LATCHKEY_SESSION_MAX'),
    retention: dur('LATCHKEY_RETENTION'),
    hashConcurrency: hashRaw === undefined ? undefined : Number(hashRaw),
    secret,
    staticDir: parseStaticDir(get('LATCHKEY_STATIC_DIR')),
    rateLimit: flag('LATCHKEY_RATE_LIMIT', true) ? {} : false,
    trustProxy,
    trustedHops: hopsRaw === undefined ? undefined : Number(hopsRaw),
    checkSessionOnAccess: flag('LATCHKEY_SESSION_CHECK', DEFAULTS.checkSessionOnAccess),
    dpopNonce: flag('LATCHKEY_DPOP_NONCE', DEFAULTS.dpopNonce),
    preparedStatements: flag('LATCHKEY_DB_PREPARED', DEFAULTS.preparedStatements),
    corsOrigins: parseOrigins(get('LATCHKEY_CORS_ORIGINS')),
    production: env.NODE_ENV?.trim() === 'production',
    resources: parseResources('LATCHKEY_RESOURCES', get('LATCHKEY_RESOURCES')?.split(',') ?? []),
    passwordMinLength: int('LATCHKEY_PASSWORD_MIN_LENGTH'),
    passwordMaxLength: int('LATCHKEY_PASSWORD_MAX_LENGTH'),
    appName: get('LATCHKEY_APP_NAME'),
    identityProviders: identityProvidersFromEnv(get),
    appleTokens: appleTokensFromEnv(get),
    smtpUrl: get('SMTP_URL'),
    mailFrom: get('MAIL_FROM'),
    requireEmailVerification: flag('LATCHKEY_REQUIRE_EMAIL_VERIFICATION', false),
  })
}

/** RFC 8707 §2 resource indicators: absolute URIs without a fragment, kept as written (duplicates dropped). */
function parseResources(name: string, values: readonly string[]): string[] {
  const out = new Set<string>()
  for (const raw of values) {
    const value = raw.trim()
    if (value === '') continue
    if (!isResourceIndicator(value)) {
      throw new ConfigError(`${name} must be absolute URIs without a fragment, like https://api.example.com (RFC 8707 §2); got ${JSON.stringify(value.slice(0, 200))}`)
    }
    out.add(value)
  }
  return [...out]
}

function parseStaticDir(dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined
  const full = resolve(dir)
  if (!statSync(full, { throwIfNoEntry: false })?.isDirectory()) {
    throw new ConfigError(`LATCHKEY_STATIC_DIR must be an existing folder (a built web app); ${JSON.stringify(full)} is not one`)
  }
  return full
}

/** Comma-separated origins, each `scheme://host[:port]` (what browsers send in `Origin`), normalised as browsers do. */
function parseOrigins(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((origin) => {
      let url: URL | undefined
      try {
        url = new URL(origin)
      } catch {
        url = undefined
      }
      const bare = url && url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password
      if (!url || !bare || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        throw new ConfigError(`LATCHKEY_CORS_ORIGINS must be comma-separated origins like https://app.example.com (scheme, host and port only; no * and no path); got ${JSON.stringify(origin)}`)
      }
      return url.origin
    })
}

/** An issuer is compared byte for byte (RFC 8414 §3.3); drop a trailing slash so paths join cleanly. */
export function normalizeIssuer(issuer: string): string {
  return issuer.endsWith('/') ? issuer.slice(0, -1) : issuer
}

function resolveDataDir(dir: string): string {
  return dir.startsWith('memory://') ? dir : resolve(dir)
}
