import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { ConfigError, DEFAULTS, loadConfig, parseDuration, resolveConfig } from './config.js'
import { DEFAULT_RATE_LIMITS } from './service.js'

const tmp = mkdtempSync(join(tmpdir(), 'latchkey-config-'))
const aFile = join(tmp, 'index.html')
writeFileSync(aFile, '<!doctype html>')
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('loadConfig', () => {
  test('defaults with an empty environment', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({
      port: 8787, host: '127.0.0.1', accessTtl: 600, refreshGrace: 60, sessionIdle: 30 * 86400, sessionMax: 90 * 86400, retention: 90 * 86400, databaseUrl: undefined,
      // Unset: startServer names the issuer after the port it binds (PORT=0 picks one).
      issuer: undefined,
      staticDir: undefined, rateLimit: DEFAULT_RATE_LIMITS, trustProxy: false, trustedHops: 1, checkSessionOnAccess: true,
      // Local development (not production, loopback): the Expo dev server's origins (http/development-origins.test.ts).
      corsOrigins: ['http://localhost:8081', 'http://127.0.0.1:8081'], hashConcurrency: undefined, secret: undefined, dpopNonce: true,
    })
    expect(c.dataDir.endsWith('/data')).toBe(true)
  })

  test('the defaults live in one place: resolveConfig({}) is loadConfig({})', () => {
    expect(resolveConfig({})).toEqual(loadConfig({}))
    expect(resolveConfig({ rateLimit: { perIp: { max: 3, windowSeconds: 60 } } }).rateLimit).toEqual({
      perAccount: DEFAULTS.rateLimit.perAccount, perAccountTotal: DEFAULTS.rateLimit.perAccountTotal, perIp: { max: 3, windowSeconds: 60 },
    })
    // The account-wide ceiling keeps the per-account window unless it is given its own.
    expect(resolveConfig({ rateLimit: { perAccount: { max: 5, windowSeconds: 60 } } }).rateLimit).toMatchObject({ perAccountTotal: { max: 100, windowSeconds: 60 } })
    expect(resolveConfig({ rateLimit: false }).rateLimit).toBe(false)
  })

  test('reads every variable', () => {
    const c = loadConfig({
      PORT: '9000', HOST: '0.0.0.0', DATA_DIR: '/tmp/x', DATABASE_URL: 'postgres://u@h/db', LATCHKEY_LISTEN_URL: 'postgres://u@direct/db', LATCHKEY_ISSUER: 'https://auth.example.com/',
      LATCHKEY_ACCESS_TTL: '5m', LATCHKEY_REFRESH_GRACE: '3', LATCHKEY_SESSION_IDLE: '1d', LATCHKEY_SESSION_MAX: '12h', LATCHKEY_RETENTION: '30d', LATCHKEY_HASH_CONCURRENCY: '3',
      LATCHKEY_SECRET: 's'.repeat(32), LATCHKEY_STATIC_DIR: tmp, LATCHKEY_RATE_LIMIT: 'off', LATCHKEY_TRUST_PROXY: 'on', LATCHKEY_TRUSTED_HOPS: '2',
      LATCHKEY_SESSION_CHECK: 'off', LATCHKEY_CORS_ORIGINS: 'https://app.example.com, http://localhost:8081/', LATCHKEY_KEY_ROTATION: '30d',
      LATCHKEY_RESOURCES: 'https://orders.example.com, urn:example:billing,https://orders.example.com',
      LATCHKEY_PASSWORD_MIN_LENGTH: '15', LATCHKEY_PASSWORD_MAX_LENGTH: '128', LATCHKEY_APP_NAME: 'Acme', LATCHKEY_DPOP_NONCE: 'off', LATCHKEY_DB_PREPARED: 'off',
      SMTP_URL: 'smtps://user:pw@smtp.example.com:465', MAIL_FROM: 'Acme <no-reply@acme.example>', LATCHKEY_REQUIRE_EMAIL_VERIFICATION: 'on',
    })
    expect(c).toEqual({
      port: 9000, host: '0.0.0.0', dataDir: '/tmp/x', databaseUrl: 'postgres://u@h/db', listenDatabaseUrl: 'postgres://u@direct/db', issuer: 'https://auth.example.com', audience: undefined,
      accessTtl: 300, refreshGrace: 3, sessionIdle: 86400, sessionMax: 43200, retention: 2592000, hashConcurrency: 3, secret: 's'.repeat(32),
      staticDir: tmp, rateLimit: false, trustProxy: true, trustedHops: 2, checkSessionOnAccess: false, corsOrigins: ['https://app.example.com', 'http://localhost:8081'],
      resources: ['https://orders.example.com', 'urn:example:billing'],
      maxBodyBytes: DEFAULTS.maxBodyBytes, pruneInterval: DEFAULTS.pruneInterval, keyRotation: 2592000, shutdownTimeoutMs: DEFAULTS.shutdownTimeoutMs,
      passwordMinLength: 15, passwordMaxLength: 128, appName: 'Acme', dpopNonce: false, preparedStatements: false, identityProviders: [],
      smtpUrl: 'smtps://user:pw@smtp.example.com:465', mailFrom: 'Acme <no-reply@acme.example>', requireEmailVerification: true,
    })
  })

  test.each([
    ['on', true], ['ON', true], ['1', true], ['true', true], ['yes', true],
    ['off', false], ['Off', false], ['0', false], ['false', false], ['no', false],
  ])('on/off switches accept %s', (value, on) => {
    const c = loadConfig({ LATCHKEY_RATE_LIMIT: value, LATCHKEY_TRUST_PROXY: value, LATCHKEY_SESSION_CHECK: value, LATCHKEY_DB_PREPARED: value })
    expect(c.preparedStatements).toBe(on)
    expect(c.rateLimit).toEqual(on ? DEFAULT_RATE_LIMITS : false)
    expect(c.trustProxy).toBe(on)
    expect(c.checkSessionOnAccess).toBe(on)
  })

  test('LATCHKEY_TRUSTED_HOPS defaults to 1 (the entry the nearest proxy appended) when the proxy is trusted', () => {
    expect(loadConfig({ LATCHKEY_TRUST_PROXY: 'on' })).toMatchObject({ trustProxy: true, trustedHops: 1 })
  })

  test.each([
    [{ PORT: 'abc' }, /PORT/],
    [{ LATCHKEY_DB_PREPARED: 'sometimes' }, /LATCHKEY_DB_PREPARED must be on or off/],
    [{ DATABASE_URL: 'postgres://u@h/db', LATCHKEY_LISTEN_URL: 'http://h/db' }, /LATCHKEY_LISTEN_URL/],
    [{ LATCHKEY_LISTEN_URL: 'postgres://u@h/db' }, /set DATABASE_URL too/],
    [{ PORT: '70000' }, /PORT/],
    [{ LATCHKEY_ACCESS_TTL: '-1' }, /LATCHKEY_ACCESS_TTL/],
    [{ LATCHKEY_ACCESS_TTL: '0' }, /LATCHKEY_ACCESS_TTL/],
    [{ LATCHKEY_SESSION_IDLE: '30 days' }, /LATCHKEY_SESSION_IDLE/],
    [{ LATCHKEY_RETENTION: 'forever' }, /LATCHKEY_RETENTION/],
    [{ LATCHKEY_HASH_CONCURRENCY: '0' }, /LATCHKEY_HASH_CONCURRENCY/],
    [{ LATCHKEY_HASH_CONCURRENCY: 'many' }, /LATCHKEY_HASH_CONCURRENCY/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ SMTP_URL: 'http://mail.example.com' }, /SMTP_URL/],
    [{ SMTP_URL: 'not a url' }, /SMTP_URL/],
    [{ SMTP_URL: 'smtp://mail.example.com' }, /MAIL_FROM is required/],
    [{ MAIL_FROM: 'not an address' }, /MAIL_FROM/],
    [{ MAIL_FROM: 'Name <a@b.example' }, /MAIL_FROM/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL/],
    [{ LATCHKEY_ISSUER: 'ftp://x' }, /LATCHKEY_ISSUER/],
    [{ LATCHKEY_SECRET: 'short' }, /LATCHKEY_SECRET/],
    [{ LATCHKEY_RATE_LIMIT: 'maybe' }, /LATCHKEY_RATE_LIMIT must be on or off/],
    [{ LATCHKEY_TRUST_PROXY: 'sometimes' }, /LATCHKEY_TRUST_PROXY must be on or off/],
    [{ LATCHKEY_SESSION_CHECK: '2' }, /LATCHKEY_SESSION_CHECK must be on or off/],
    [{ LATCHKEY_TRUST_PROXY: 'on', LATCHKEY_TRUSTED_HOPS: '0' }, /LATCHKEY_TRUSTED_HOPS must be an integer/],
    [{ LATCHKEY_TRUST_PROXY: 'on', LATCHKEY_TRUSTED_HOPS: 'two' }, /LATCHKEY_TRUSTED_HOPS must be an integer/],
    [{ LATCHKEY_TRUST_PROXY: 'on', LATCHKEY_TRUSTED_HOPS: '10' }, /LATCHKEY_TRUSTED_HOPS must be an integer/],
    [{ LATCHKEY_TRUSTED_HOPS: '2' }, /LATCHKEY_TRUSTED_HOPS is set but LATCHKEY_TRUST_PROXY is off/],
    [{ LATCHKEY_PASSWORD_MIN_LENGTH: '6' }, /LATCHKEY_PASSWORD_MIN_LENGTH must be an integer from 8 to 64/],
    [{ LATCHKEY_PASSWORD_MIN_LENGTH: 'eight' }, /LATCHKEY_PASSWORD_MIN_LENGTH must be an integer/],
    [{ LATCHKEY_PASSWORD_MAX_LENGTH: '32' }, /LATCHKEY_PASSWORD_MAX_LENGTH must be an integer from 64 to 1024/],
    [{ LATCHKEY_CORS_ORIGINS: '*' }, /LATCHKEY_CORS_ORIGINS/],
    [{ LATCHKEY_CORS_ORIGINS: 'https://app.example.com/login' }, /LATCHKEY_CORS_ORIGINS/],
    [{ LATCHKEY_CORS_ORIGINS: 'https://ok.example.com,ftp://files.example.com' }, /LATCHKEY_CORS_ORIGINS/],
    [{ LATCHKEY_CORS_ORIGINS: 'app.example.com' }, /LATCHKEY_CORS_ORIGINS/],
    // Finding 9, RFC 8707 §2: a resource is an absolute URI without a fragment.
    [{ LATCHKEY_RESOURCES: '/orders' }, /LATCHKEY_RESOURCES must be absolute URIs/],
    [{ LATCHKEY_RESOURCES: 'orders.example.com' }, /LATCHKEY_RESOURCES must be absolute URIs/],
    [{ LATCHKEY_RESOURCES: 'https://orders.example.com#v1' }, /LATCHKEY_RESOURCES must be absolute URIs/],
    [{ LATCHKEY_RESOURCES: 'https://ok.example.com,https://bad example.com' }, /LATCHKEY_RESOURCES must be absolute URIs/],
    [{ LATCHKEY_STATIC_DIR: join(tmp, 'missing') }, /LATCHKEY_STATIC_DIR must be an existing folder/],
    [{ LATCHKEY_STATIC_DIR: aFile }, /LATCHKEY_STATIC_DIR must be an existing folder/],
    [{ LATCHKEY_KEY_ROTATION: 'sometimes' }, /LATCHKEY_KEY_ROTATION must be a duration/],
    [{ LATCHKEY_KEY_ROTATION: '20m' }, /LATCHKEY_KEY_ROTATION must be longer than twice LATCHKEY_ACCESS_TTL \(600 s\)/],
    [{ LATCHKEY_KEY_ROTATION: '1h', LATCHKEY_ACCESS_TTL: '30m' }, /LATCHKEY_KEY_ROTATION must be longer than twice LATCHKEY_ACCESS_TTL \(1800 s\)/],
  ])('rejects %o with a message naming the variable', (env, re) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(re)
  })

  test('secret values are not echoed in messages', () => {
    expect(() => loadConfig({ LATCHKEY_SECRET: 'hunter2' })).toThrow(/^(?!.*hunter2)/)
  })

  test('finding 6: NODE_ENV=production without LATCHKEY_SECRET is refused with a ConfigError naming the variable', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError)
    expect(() => loadConfig({ NODE_ENV: 'production', LATCHKEY_SECRET: '  ' })).toThrow(/LATCHKEY_SECRET is required when NODE_ENV=production/)
    expect(loadConfig({ NODE_ENV: 'production', LATCHKEY_SECRET: 's'.repeat(32) }).secret).toBe('s'.repeat(32))
    // Outside production the server starts (and warns at start: see keys-at-rest.test.ts).
    expect(loadConfig({ NODE_ENV: 'development' }).secret).toBeUndefined()
    expect(loadConfig({}).secret).toBeUndefined()
  })

  test('finding 7: scheduled key rotation is on by default (90 days) and LATCHKEY_KEY_ROTATION=off turns it off', () => {
    expect(loadConfig({}).keyRotation).toBe(90 * 86_400)
    expect(loadConfig({ LATCHKEY_KEY_ROTATION: 'off' }).keyRotation).toBe(false)
    expect(loadConfig({ LATCHKEY_KEY_ROTATION: '21m' }).keyRotation).toBe(1260)
  })

  test('finding 9: programmatic resources are checked as LATCHKEY_RESOURCES is; unset means none', () => {
    expect(loadConfig({}).resources).toEqual([])
    expect(resolveConfig({ resources: ['https://orders.example.com'] }).resources).toEqual(['https://orders.example.com'])
    expect(() => resolveConfig({ resources: ['orders'] })).toThrow(ConfigError)
  })

  test('durations', () => {
    expect(parseDuration('X', '30d')).toBe(2592000)
    expect(parseDuration('X', '10')).toBe(10)
  })
})

describe('LATCHKEY_LISTEN_URL', () => {
  test('defaults to DATABASE_URL on PostgreSQL, and is unset on PGlite', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).listenDatabaseUrl).toBe('postgres://u@h/db')
    expect(loadConfig({}).listenDatabaseUrl).toBeUndefined()
  })
})
