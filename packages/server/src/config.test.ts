import { describe, expect, test } from 'vitest'
import { ConfigError, loadConfig, parseDuration } from './config.js'

describe('loadConfig', () => {
  test('defaults with an empty environment', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({ port: 8787, host: '127.0.0.1', issuer: 'http://127.0.0.1:8787', accessTtl: 600, refreshGrace: 60, sessionIdle: 30 * 86400, sessionMax: 90 * 86400, retention: 90 * 86400, databaseUrl: undefined })
    expect(c.dataDir.endsWith('/data')).toBe(true)
  })

  test('reads every variable', () => {
    const c = loadConfig({
      PORT: '9000', HOST: '0.0.0.0', DATA_DIR: '/tmp/x', DATABASE_URL: 'postgres://u@h/db', LATCHKEY_ISSUER: 'https://auth.example.com/',
      LATCHKEY_ACCESS_TTL: '5m', LATCHKEY_REFRESH_GRACE: '3', LATCHKEY_SESSION_IDLE: '1d', LATCHKEY_SESSION_MAX: '12h', LATCHKEY_RETENTION: '30d', LATCHKEY_HASH_CONCURRENCY: '3',
    })
    expect(c).toMatchObject({ port: 9000, host: '0.0.0.0', dataDir: '/tmp/x', databaseUrl: 'postgres://u@h/db', issuer: 'https://auth.example.com', accessTtl: 300, refreshGrace: 3, sessionIdle: 86400, sessionMax: 43200, retention: 2592000, hashConcurrency: 3 })
  })

  test.each([
    [{ PORT: 'abc' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ LATCHKEY_ACCESS_TTL: '-1' }, /LATCHKEY_ACCESS_TTL/],
    [{ LATCHKEY_ACCESS_TTL: '0' }, /LATCHKEY_ACCESS_TTL/],
    [{ LATCHKEY_SESSION_IDLE: '30 days' }, /LATCHKEY_SESSION_IDLE/],
    [{ LATCHKEY_RETENTION: 'forever' }, /LATCHKEY_RETENTION/],
    [{ LATCHKEY_HASH_CONCURRENCY: '0' }, /LATCHKEY_HASH_CONCURRENCY/],
    [{ LATCHKEY_HASH_CONCURRENCY: 'many' }, /LATCHKEY_HASH_CONCURRENCY/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL/],
    [{ LATCHKEY_ISSUER: 'ftp://x' }, /LATCHKEY_ISSUER/],
    [{ LATCHKEY_SECRET: 'short' }, /LATCHKEY_SECRET/],
  ])('rejects %o with a message naming the variable', (env, re) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(re)
  })

  test('secret values are not echoed in messages', () => {
    expect(() => loadConfig({ LATCHKEY_SECRET: 'hunter2' })).toThrow(/^(?!.*hunter2)/)
  })

  test('durations', () => {
    expect(parseDuration('X', '30d')).toBe(2592000)
    expect(parseDuration('X', '10')).toBe(10)
  })
})
