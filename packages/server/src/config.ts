import { resolve } from 'node:path'

/** Everything the server reads from its environment, parsed and validated once at start. */
export interface ServerConfig {
  port: number
  host: string
  /** PGlite data folder; ignored when `databaseUrl` is set. `'memory://'` keeps PGlite in memory. */
  dataDir: string
  /** PostgreSQL connection string; when set, PGlite is not used. */
  databaseUrl: string | undefined
  /** `iss` of access tokens and the RFC 8414 `issuer`; also the tokens' `aud`. */
  issuer: string
  /** Access token lifetime, seconds. */
  accessTtl: number
  /**
   * Window (seconds) in which the previous refresh token gets the current pair back. With the
   * client's deadlines it is one design: it must exceed the latest moment a client that stays
   * online retries after a lost answer (`latestRetryArrivalMs` in @latchkey/core: 21 s after one
   * lost answer, 47 s after three, with the core's defaults).
   */
  refreshGrace: number
  /** A session unused for this long (seconds) ends. */
  sessionIdle: number
  /** A session ends this long (seconds) after sign-in, however much it is used. */
  sessionMax: number
  /** Key for refresh-token MACs; when unset, one is generated and kept in the database. */
  secret: string | undefined
  /** Audit events and ended sessions are deleted this long (seconds) after they happened or ended. */
  retention: number
  /** Password hashes at once; undefined: one per CPU core. */
  hashConcurrency: number | undefined
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
} as const

/**
 * Reads the configuration from an environment (default `process.env`). A bad value throws a
 * `ConfigError` whose message names the variable and what it expects; values of secrets are
 * never echoed.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const get = (name: string) => {
    const v = env[name]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
  }
  const port = get('PORT') !== undefined ? parsePort(get('PORT')!) : DEFAULTS.port
  const host = get('HOST') ?? DEFAULTS.host
  const databaseUrl = get('DATABASE_URL')
  if (databaseUrl !== undefined) parseUrl('DATABASE_URL', databaseUrl, ['postgres:', 'postgresql:'])
  const issuerRaw = get('LATCHKEY_ISSUER')
  const issuer = issuerRaw !== undefined ? normalizeIssuer(parseUrl('LATCHKEY_ISSUER', issuerRaw, ['http:', 'https:'])) : `http://${hostForUrl(host)}:${port}`
  const dur = (name: string, fallback: number) => (get(name) !== undefined ? parseDuration(name, get(name)!) : fallback)
  const accessTtl = dur('LATCHKEY_ACCESS_TTL', DEFAULTS.accessTtl)
  const refreshGrace = get('LATCHKEY_REFRESH_GRACE') === '0' ? 0 : dur('LATCHKEY_REFRESH_GRACE', DEFAULTS.refreshGrace)
  const sessionIdle = dur('LATCHKEY_SESSION_IDLE', DEFAULTS.sessionIdle)
  const sessionMax = dur('LATCHKEY_SESSION_MAX', DEFAULTS.sessionMax)
  const retention = dur('LATCHKEY_RETENTION', DEFAULTS.retention)
  const hashRaw = get('LATCHKEY_HASH_CONCURRENCY')
  if (hashRaw !== undefined && !/^[1-9]\d{0,2}$/.test(hashRaw)) {
    throw new ConfigError(`LATCHKEY_HASH_CONCURRENCY must be an integer from 1 to 999; got ${JSON.stringify(hashRaw)}`)
  }
  const secret = get('LATCHKEY_SECRET')
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError('LATCHKEY_SECRET must be at least 32 characters (use 32 random bytes, e.g. `openssl rand -base64 32`)')
  }
  return {
    port,
    host,
    dataDir: resolveDataDir(get('DATA_DIR') ?? DEFAULTS.dataDir),
    databaseUrl,
    issuer,
    accessTtl,
    refreshGrace,
    sessionIdle,
    sessionMax,
    secret,
    retention,
    hashConcurrency: hashRaw === undefined ? undefined : Number(hashRaw),
  }
}

/** An issuer is compared byte for byte (RFC 8414 §3.3); drop a trailing slash so paths join cleanly. */
export function normalizeIssuer(issuer: string): string {
  return issuer.endsWith('/') ? issuer.slice(0, -1) : issuer
}

function resolveDataDir(dir: string): string {
  return dir.startsWith('memory://') ? dir : resolve(dir)
}
