import { existsSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { EmbeddedJWK, jwtVerify } from 'jose'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The web DPoP key store on a real browser: Chromium's IndexedDB and WebCrypto, a page reload
// between saving the key and using it.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const root = fileURLToPath(new URL('../../../../', import.meta.url))
const src = (p: string) => fileURLToPath(new URL(p, import.meta.url))

async function bundle(): Promise<string> {
  const { build } = await import('vite')
  const result = await build({
    configFile: false, logLevel: 'silent', root,
    resolve: { alias: [{ find: /^@latchkey\/core$/, replacement: `${root}packages/core/src/index.ts` }] },
    build: { write: false, minify: false, lib: { entry: src('../test-support/dpop-browser-entry.ts'), formats: ['iife'], name: 'LatchkeyDpop', fileName: () => 'bundle.js' } },
  })
  const outputs = (Array.isArray(result) ? result : [result]) as Array<{ output: Array<{ type: string; code?: string }> }>
  const chunk = outputs.flatMap((r) => r.output).find((o) => o.type === 'chunk')
  if (!chunk?.code) throw new Error('bundling the browser entry produced no code')
  return chunk.code
}

describe('web DPoP key store in Chromium', () => {
  let browser: Browser | undefined
  let server: Server
  let origin: string

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (set CHROMIUM_PATH)`)
    const script = await bundle()
    server = createServer((req, res) => {
      if (req.url === '/bundle.js') {
        res.writeHead(200, { 'Content-Type': 'text/javascript' })
        return res.end(script)
      }
      res.writeHead(200, { 'Content-Type': 'text/html' })
      res.end('<!doctype html><title>dpop</title><script src="/bundle.js"></script>')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  })

  it('a non-extractable key survives a reload in IndexedDB, signs proofs jose verifies, and is gone after delete', async () => {
    const context = await browser!.newContext()
    const page = await context.newPage()
    await page.goto(origin)
    await page.waitForFunction(() => window.dpop !== undefined)
    const jwk = await page.evaluate(() => window.dpop.generateAndSave())

    await page.reload()
    await page.waitForFunction(() => window.dpop !== undefined)
    const proof = await page.evaluate(() => window.dpop.proofFromStored('https://api.example.com/me?q=1', 'tok'))
    const { payload, protectedHeader } = await jwtVerify(proof!, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] })
    expect(protectedHeader.jwk).toEqual(jwk)
    expect(payload).toMatchObject({ htm: 'GET', htu: 'https://api.example.com/me', ath: createHash('sha256').update('tok').digest('base64url') })
    expect(await page.evaluate(() => window.dpop.storedKeyExtractable())).toEqual({ extractable: false, exported: false })

    await page.evaluate(() => window.dpop.remove())
    expect(await page.evaluate(() => window.dpop.proofFromStored('https://api.example.com/me', 'tok'))).toBeNull()
    await context.close()
  })
})
