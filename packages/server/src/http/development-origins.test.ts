// CORS in local development (issue 16): `npx expo start --web` serves the app on
// http://localhost:8081; a server started beside it with no configuration must answer its
// preflight, and a production server must not.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { loadConfig, resolveConfig } from '../config.js'
import { startServer, type RunningServer } from '../server.js'
import { silentLogger } from '../app.js'
import { defaultCorsOrigins, EXPO_DEV_SERVER_ORIGINS } from './development-origins.js'

const SECRET = 'x'.repeat(32)

describe('default CORS origins', () => {
  test('no configuration and not production: the Expo dev server, on localhost and 127.0.0.1', () => {
    expect(loadConfig({}).corsOrigins).toEqual(['http://localhost:8081', 'http://127.0.0.1:8081'])
    expect(resolveConfig({})).toEqual(loadConfig({}))
    expect(loadConfig({ NODE_ENV: 'development', LATCHKEY_ISSUER: 'http://localhost:8787' }).corsOrigins).toEqual([...EXPO_DEV_SERVER_ORIGINS])
  })

  test('production grants nothing it was not told to', () => {
    expect(loadConfig({ NODE_ENV: 'production', LATCHKEY_SECRET: SECRET }).corsOrigins).toEqual([])
    expect(resolveConfig({ production: true }).corsOrigins).toEqual([])
    // Without NODE_ENV, a deployed server (https or non-loopback issuer, or listening beyond loopback) gets none either.
    expect(loadConfig({ LATCHKEY_ISSUER: 'https://auth.example.com' }).corsOrigins).toEqual([])
    expect(loadConfig({ LATCHKEY_ISSUER: 'http://auth.example.com' }).corsOrigins).toEqual([])
    expect(loadConfig({ LATCHKEY_ISSUER: 'https://localhost:8787' }).corsOrigins).toEqual([])
    expect(loadConfig({ HOST: '0.0.0.0' }).corsOrigins).toEqual([])
    expect(defaultCorsOrigins({ production: false, issuer: undefined, host: '::1' })).toEqual([...EXPO_DEV_SERVER_ORIGINS])
    expect(defaultCorsOrigins({ production: false, issuer: undefined, host: '::' })).toEqual([])
  })

  test('LATCHKEY_CORS_ORIGINS replaces the development list', () => {
    expect(loadConfig({ LATCHKEY_CORS_ORIGINS: 'http://localhost:19006' }).corsOrigins).toEqual(['http://localhost:19006'])
    expect(loadConfig({ NODE_ENV: 'production', LATCHKEY_SECRET: SECRET, LATCHKEY_CORS_ORIGINS: 'https://app.example.com' }).corsOrigins).toEqual(['https://app.example.com'])
  })
})

/** The browser's preflight for the README's sign-in request (JSON body, cookie delivery). */
const preflight = (server: RunningServer, origin: string) =>
  fetch(`${server.url}/auth/sign-in`, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-latchkey-token-delivery' },
  })

describe.each([
  { name: 'development (no configuration)', production: false },
  { name: 'production', production: true },
])('a real server in $name answering the Expo dev server', ({ production }) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', dataDir: 'memory://', logger: silentLogger, pruneInterval: 0, production, ...(production ? { secret: SECRET } : {}) })
  })
  afterAll(() => server?.close())

  test.each(['http://localhost:8081', 'http://127.0.0.1:8081'])('preflight from %s', async (origin) => {
    const res = await preflight(server, origin)
    if (production) {
      expect(res.headers.get('access-control-allow-origin')).toBeNull()
      expect(res.headers.get('access-control-allow-credentials')).toBeNull()
    } else {
      expect(res.status).toBe(204)
      expect(res.headers.get('access-control-allow-origin')).toBe(origin)
      expect(res.headers.get('access-control-allow-credentials')).toBe('true')
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-latchkey-token-delivery')
    }
  })

  test('the sign-up itself carries the CORS headers only in development; other origins never get them', async () => {
    const signUp = (origin: string) =>
      fetch(`${server.url}/auth/sign-up`, {
        method: 'POST',
        headers: { Origin: origin, 'Content-Type': 'application/json', 'X-Latchkey-Token-Delivery': 'cookie' },
        body: JSON.stringify({ email: `dev-cors-${production}-${origin.length}-${Date.now()}@example.com`, password: 'correct horse battery staple' }),
      })
    const dev = await signUp('http://localhost:8081')
    expect(dev.status).toBe(201)
    expect(dev.headers.get('access-control-allow-origin')).toBe(production ? null : 'http://localhost:8081')
    const evil = await preflight(server, 'http://evil.example:8081')
    expect(evil.headers.get('access-control-allow-origin')).toBeNull()
    const otherPort = await preflight(server, 'http://localhost:8082')
    expect(otherPort.headers.get('access-control-allow-origin')).toBeNull()
  })
})
