import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createPgliteDir, type TestDatabase } from './test-support/databases.js'
import { startTestServer } from './test-support/server.js'
import type { RunningServer } from './server.js'

let tdb: TestDatabase
let server: RunningServer
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-spa-'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>app</title>')
  mkdirSync(join(dir, '_expo'))
  writeFileSync(join(dir, '_expo', 'app.js'), 'console.log(1)')
  tdb = createPgliteDir()
  server = await startTestServer(tdb, { staticDir: dir })
})
afterAll(async () => {
  await server?.close()
  await tdb?.cleanup()
  rmSync(dir, { recursive: true, force: true })
})

test('staticDir: files, index.html for client routes, API paths untouched, no traversal', async () => {
  const get = (p: string) => fetch(`${server.url}${p}`)
  expect(await (await get('/')).text()).toContain('<title>app</title>')
  const js = await get('/_expo/app.js')
  expect(js.headers.get('content-type')).toMatch(/javascript/)
  expect(await (await get('/sessions')).text()).toContain('<title>app</title>') // client-side route
  expect((await get('/missing.js')).status).toBe(404)
  expect(await (await get('/health')).json()).toEqual({ ok: true })
  const api404 = await get('/auth/nothing-here')
  expect(api404.status).toBe(404)
  expect(await api404.json()).toMatchObject({ error: 'not_found' })
  expect((await get('/me')).status).toBe(401)
  for (const p of ['/..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/etc/passwd']) {
    expect(await (await get(p)).text()).not.toContain('root:')
  }
})

test('a known API path asked with another method answers 405 with Allow (RFC 9110 §15.5.6); unknown paths 404', async () => {
  const call = (method: string, p: string) => fetch(`${server.url}${p}`, { method })
  const cases: Array<[string, string, string]> = [
    ['GET', '/oauth/token', 'POST'],
    ['PUT', '/auth/sign-in', 'POST'],
    ['DELETE', '/me', 'GET, HEAD'],
    ['POST', '/.well-known/jwks.json', 'GET, HEAD'],
  ]
  for (const [method, path, allow] of cases) {
    const res = await call(method, path)
    expect(res.status, `${method} ${path}`).toBe(405)
    expect(res.headers.get('allow')).toBe(allow)
    expect(await res.json()).toMatchObject({ error: 'method_not_allowed' })
  }
  // Paths behind authentication answer an anonymous caller 401 first, whatever the method.
  expect((await call('PATCH', '/auth/sessions/00000000-0000-4000-8000-000000000000')).status).toBe(401)
  const missing = await call('POST', '/auth/nothing-here')
  expect(missing.status).toBe(404)
  expect(missing.headers.get('allow')).toBeNull()
})
