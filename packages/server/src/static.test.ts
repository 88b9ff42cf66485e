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
