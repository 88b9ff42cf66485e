import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { buildPackages, buildWebApp } from '../scripts/build-if-stale.mjs'
import { launchChromium } from './browser.js'
import { startE2eServer, type E2eServer, type E2eServerOptions } from './server.js'

export interface E2eHarness {
  /** The real server (started in beforeAll). */
  readonly server: E2eServer
  /** A page in a new browser context (its own cookies and storage), closed after the test. */
  newPage(): Promise<{ context: BrowserContext; page: Page }>
}

/**
 * The suite's hooks: builds what is stale, starts the real server on a fresh data folder and
 * Chromium; after each test closes its contexts and fails it if a page threw an uncaught error.
 * Call once at the top of a test file.
 */
export function e2eHarness(options: { name: string; accessTtl: number; smtpUrl?: () => string; server?: () => Promise<Partial<E2eServerOptions>> }): E2eHarness {
  let server: E2eServer | undefined
  let browser: Browser | undefined
  let dataDir: string | undefined
  const pageErrors: string[] = []
  const contexts: BrowserContext[] = []

  beforeAll(async () => {
    buildPackages(['core', 'expo', 'server'])
    const staticDir = buildWebApp()
    dataDir = mkdtempSync(join(tmpdir(), `latchkey-e2e-${options.name}-`))
    server = await startE2eServer({ dataDir, staticDir, accessTtl: options.accessTtl, ...(options.smtpUrl ? { smtpUrl: options.smtpUrl() } : {}), ...(options.server ? await options.server() : {}) })
    browser = await launchChromium()
  }, 600_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close()
    expect(pageErrors.splice(0)).toEqual([])
  })

  return {
    get server() {
      if (!server) throw new Error('the e2e server is not started (use it inside a test)')
      return server
    },
    async newPage() {
      if (!browser || !server) throw new Error('the e2e browser is not started (use it inside a test)')
      const context = await browser.newContext({ baseURL: server.url })
      contexts.push(context)
      const page = await context.newPage()
      page.on('pageerror', (err) => pageErrors.push(`${err.name}: ${err.message}`))
      return { context, page }
    },
  }
}
