import { existsSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/*
 * Two tabs of one browser profile share one session in cookie mode: the refresh token is an
 * httpOnly cookie both tabs send, the access token lives in each tab's memory, and the core's
 * Web Locks lock plus BroadcastChannel sync must make concurrent needs in both tabs cost exactly
 * one refresh. The token endpoint rotates the cookie and rejects a spent one, so a second refresh
 * with a stale cookie would also show up as a failure.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const root = fileURLToPath(new URL('../../../../', import.meta.url))
const src = (p: string) => fileURLToPath(new URL(p, import.meta.url))

async function bundle(): Promise<string> {
  const { build } = await import('vite')
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    root,
    resolve: { alias: [{ find: /^@latchkey\/core$/, replacement: `${root}packages/core/src/index.ts` }] },
    build: {
      write: false,
      minify: false,
      lib: { entry: src('../test-support/browser-entry.ts'), formats: ['iife'], name: 'LatchkeyTest', fileName: () => 'bundle.js' },
    },
  })
  const outputs = (Array.isArray(result) ? result : [result]) as Array<{ output: Array<{ type: string; code?: string }> }>
  const chunk = outputs.flatMap((r) => r.output).find((o) => o.type === 'chunk')
  if (!chunk?.code) throw new Error('bundling the browser entry produced no code')
  return chunk.code
}

/** The Latchkey server's cookie mode, reduced to what the test needs; it counts refreshes. */
function tokenServer(script: string) {
  let generation = 1
  let expired = new Set<string>()
  const stats = { refreshes: 0, rejected: 0, missingHeader: 0 }
  const cookie = (res: ServerResponse) =>
    res.setHeader('Set-Cookie', `lk_refresh=rt-${generation}; HttpOnly; SameSite=Strict; Path=/oauth`)
  const pair = () => ({ access_token: `at-${generation}`, token_type: 'Bearer', expires_in: 600 })
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
    res.end(JSON.stringify(body))
  }
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/'
    req.resume()
    req.on('end', () => {
      if (url === '/') {
        res.writeHead(200, { 'Content-Type': 'text/html' })
        return res.end('<!doctype html><title>tab</title><script src="/bundle.js"></script>')
      }
      if (url === '/bundle.js') {
        res.writeHead(200, { 'Content-Type': 'text/javascript' })
        return res.end(script)
      }
      if (url === '/auth/sign-in' && req.method === 'POST') {
        if (req.headers['x-latchkey-token-delivery'] !== 'cookie') return json(res, 400, { error: 'invalid_request' })
        cookie(res)
        return json(res, 200, pair())
      }
      if (url === '/oauth/token' && req.method === 'POST') {
        if (req.headers['x-latchkey-token-delivery'] !== 'cookie') stats.missingHeader++
        const sent = /lk_refresh=([^;]+)/.exec(req.headers.cookie ?? '')?.[1]
        if (sent !== `rt-${generation}`) {
          stats.rejected++
          return json(res, 400, { error: 'invalid_grant' })
        }
        stats.refreshes++
        generation++
        cookie(res)
        return json(res, 200, pair())
      }
      if (url === '/oauth/revoke') return json(res, 200, {})
      if (url === '/api/me') {
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '')
        const ok = token === `at-${generation}` && !expired.has(token)
        return json(res, ok ? 200 : 401, ok ? { sub: 'user-1' } : { error: 'invalid_token' })
      }
      json(res, 404, { error: 'not_found' })
    })
  }
  return {
    server: createServer(handler),
    stats,
    /** The current access token is refused from now on, as if it had expired. */
    expireAccessToken: () => (expired = new Set([...expired, `at-${generation}`])),
  }
}

describe('web: two Chromium tabs share one session', () => {
  let browser: Browser | undefined
  let context: BrowserContext
  let http: ReturnType<typeof tokenServer>
  let origin: string
  let server: Server

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: run \`apt-get update && apt-get install -y chromium\` (or set CHROMIUM_PATH)`)
    }
    http = tokenServer(await bundle())
    server = http.server
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
    context = await browser.newContext()
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  })

  const open = async (): Promise<Page> => {
    const page = await context.newPage()
    await page.goto(origin)
    await page.waitForFunction(() => window.lk?.client.getState().ready === true)
    return page
  }
  const status = (page: Page) => page.evaluate(() => window.lk.client.getState().status)

  it('concurrent needs in both tabs cause exactly one refresh, every call succeeds, no secret at rest', async () => {
    const [a, b] = [await open(), await open()]
    await a.evaluate(() => window.lk.signIn())
    // Tab B learns the pair over BroadcastChannel.
    await b.waitForFunction(() => window.lk.client.getState().status === 'signedIn')
    expect(await b.evaluate(() => window.lk.tokens(1))).toEqual(['at-1'])

    for (let round = 1; round <= 3; round++) {
      http.expireAccessToken()
      const before = http.stats.refreshes
      const [fromA, fromB] = await Promise.all([a.evaluate(() => window.lk.needs(25)), b.evaluate(() => window.lk.needs(25))])
      expect([...fromA, ...fromB].every((s) => s === 200), `round ${round}: ${JSON.stringify([fromA, fromB])}`).toBe(true)
      expect(http.stats.refreshes - before, `round ${round}`).toBe(1)
    }
    expect(http.stats.rejected).toBe(0)
    expect(http.stats.missingHeader).toBe(0)
    const stored = await a.evaluate(() => window.lk.stored())
    expect(stored).not.toMatch(/at-\d|rt-\d/)
    expect(await a.evaluate(() => document.cookie)).toBe('') // httpOnly, and scoped to /oauth
    expect(await status(a)).toBe('signedIn')
    expect(await status(b)).toBe('signedIn')
  })

  it('sign-out in one tab signs the other out', async () => {
    const [a, b] = [await open(), await open()]
    await a.evaluate(() => window.lk.signIn())
    await b.waitForFunction(() => window.lk.client.getState().status === 'signedIn')
    await a.evaluate(() => window.lk.client.signOut())
    await b.waitForFunction(() => window.lk.client.getState().status === 'signedOut')
    expect(await b.evaluate(() => window.lk.client.getState().reason)).toBe('signed_out_elsewhere')
  })
})
