// End-to-end: the example app's web build, served by the real Latchkey server, in real Chromium.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildPackages, buildWebApp } from '../scripts/build-if-stale.mjs'
import { launchChromium } from './browser.js'
import { startE2eServer, type E2eServer } from './server.js'

const ACCESS_TTL_S = 6
const screenshots = join(import.meta.dirname, 'screenshots')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let server: E2eServer
let browser: Browser
let dataDir: string
const pageErrors: string[] = []
const contexts: BrowserContext[] = []

beforeAll(async () => {
  buildPackages(['core', 'expo', 'server'])
  const staticDir = buildWebApp()
  dataDir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-'))
  server = await startE2eServer({ dataDir, staticDir, accessTtl: ACCESS_TTL_S })
  browser = await launchChromium()
  mkdirSync(screenshots, { recursive: true })
}, 600_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close()
  // No test may leave an uncaught error in the page.
  expect(pageErrors.splice(0)).toEqual([])
})

async function newPage(context?: BrowserContext): Promise<{ context: BrowserContext; page: Page }> {
  const ctx = context ?? (await browser.newContext({ baseURL: server.url }))
  if (!context) contexts.push(ctx)
  const page = await ctx.newPage()
  page.on('pageerror', (err) => pageErrors.push(`${err.name}: ${err.message}`))
  return { context: ctx, page }
}

let accounts = 0
const newEmail = () => `user${Date.now()}-${++accounts}@example.com`
const PASSWORD = 'correct horse battery staple'

async function fillAndSubmit(page: Page, email: string, password: string) {
  await page.getByTestId('email').fill(email)
  await page.getByTestId('password').fill(password)
  await page.getByTestId('submit').click()
}

async function signUp(page: Page, email = newEmail()) {
  await page.goto('/sign-up')
  await fillAndSubmit(page, email, PASSWORD)
  await expect.poll(() => page.getByTestId('me-email').textContent(), { timeout: 15_000 }).toContain(email)
  return email
}

async function signIn(page: Page, email: string) {
  await page.goto('/sign-in')
  await fillAndSubmit(page, email, PASSWORD)
  await expect.poll(() => page.getByTestId('me-email').textContent(), { timeout: 15_000 }).toContain(email)
}

/** 20 (or n) calls at once through the app's own session client, from inside the page. */
const parallelMe = (page: Page, n: number) =>
  page.evaluate(async (count) => {
    const hook = (window as unknown as { __latchkeyExample: { session: { fetch(u: string): Promise<Response> }; apiUrl: string } }).__latchkeyExample
    const responses = await Promise.all(Array.from({ length: count }, () => hook.session.fetch(`${hook.apiUrl}/me`)))
    return responses.map((r) => r.status)
  }, n)

/**
 * Puts the tab in the background the way a browser does (visibilityState 'hidden' plus the
 * visibilitychange event), so the session pauses its proactive refresh; returns "bring it back".
 */
async function background(page: Page) {
  const setVisibility = (state: 'hidden' | 'visible') =>
    page.evaluate((v) => {
      Object.defineProperty(document, 'visibilityState', { value: v, configurable: true })
      Object.defineProperty(document, 'hidden', { value: v === 'hidden', configurable: true })
      document.dispatchEvent(new Event('visibilitychange'))
    }, state)
  await setVisibility('hidden')
  return () => setVisibility('visible')
}

/** Takes the network down for the app: the browser's offline mode, and loopback traffic refused too. */
async function goOffline(context: BrowserContext) {
  await context.setOffline(true)
  // Chromium's offline emulation does not cover 127.0.0.1, where this server runs.
  await context.route('**/*', (route) => route.abort('internetdisconnected'))
  return async () => {
    await context.unroute('**/*')
    await context.setOffline(false)
  }
}

const refreshCookie = async (context: BrowserContext) => (await context.cookies()).find((c) => c.httpOnly && /refresh/i.test(c.name))

describe('the example app in Chromium against the real server', () => {
  it('1. sign up lands on home; a reload keeps the session; the refresh token is unreadable from JavaScript', async () => {
    const { context, page } = await newPage()
    const email = await signUp(page)
    await page.screenshot({ path: join(screenshots, 'home.png') })
    await page.reload()
    await expect.poll(() => page.getByTestId('me-email').textContent(), { timeout: 15_000 }).toContain(email)
    expect(new URL(page.url()).pathname).not.toContain('sign-in')

    const cookie = await refreshCookie(context)
    expect(cookie, 'the server sets an httpOnly refresh cookie').toBeDefined()
    expect(cookie!.sameSite).toBe('Strict')
    const visible = await page.evaluate(async () => ({
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      cookie: document.cookie,
      idb: (await indexedDB.databases()).map((d) => d.name),
      // The one database the app may have: its DPoP device key (RFC 9449), a CryptoKey that page
      // scripts can use but never export.
      dpopKeys: await new Promise<Array<{ extractable: boolean; text: string }>>((resolve) => {
        const open = indexedDB.open('latchkey')
        open.onupgradeneeded = () => open.transaction?.abort()
        open.onerror = () => resolve([])
        open.onsuccess = () => {
          if (!open.result.objectStoreNames.contains('dpop-keys')) return resolve([])
          const all = open.result.transaction('dpop-keys').objectStore('dpop-keys').getAll()
          all.onsuccess = () => resolve((all.result as Array<{ privateKey: CryptoKey; publicJwk: unknown }>).map((r) => ({ extractable: r.privateKey.extractable, text: JSON.stringify(r.publicJwk) })))
          all.onerror = () => resolve([])
        }
      }),
    }))
    expect(visible.local).not.toContain(cookie!.value)
    expect(visible.session).not.toContain(cookie!.value)
    expect(visible.cookie).not.toContain(cookie!.value)
    expect(visible.idb.filter((name) => name !== 'latchkey')).toEqual([])
    expect(visible.dpopKeys.every((k) => !k.extractable && !k.text.includes(cookie!.value))).toBe(true)
  })

  it('2. after the access token expires, 20 parallel calls cause exactly one refresh and all succeed', async () => {
    const { page } = await newPage()
    await signUp(page)
    const foreground = await background(page)
    await sleep(ACCESS_TTL_S * 1000 + 1000) // expired in the background, where no refresh runs ahead
    const before = await server.refreshCount()
    await foreground()
    const statuses = await parallelMe(page, 20)
    expect(statuses).toEqual(Array(20).fill(200))
    await sleep(300)
    expect((await server.refreshCount()) - before).toBe(1)
  })

  it('3. two tabs of one browser refreshing at the same moment cause one refresh in total', async () => {
    const { context, page } = await newPage()
    await signUp(page)
    const { page: second } = await newPage(context)
    await second.goto('/')
    await expect.poll(() => second.getByTestId('me-email').textContent(), { timeout: 15_000 }).toContain('@example.com')
    const foregroundFirst = await background(page)
    const foregroundSecond = await background(second)
    await sleep(ACCESS_TTL_S * 1000 + 1000)
    const before = await server.refreshCount()
    await Promise.all([foregroundFirst(), foregroundSecond()])
    const [a, b] = await Promise.all([parallelMe(page, 10), parallelMe(second, 10)])
    expect([...a, ...b]).toEqual(Array(20).fill(200))
    await sleep(300)
    expect((await server.refreshCount()) - before).toBe(1)
  })

  it('4. revoking another device from the sessions screen sends that device to sign-in with a message', async () => {
    const { page } = await newPage()
    const email = await signUp(page)
    const { page: other } = await newPage()
    await signIn(other, email)

    await page.goto('/sessions')
    await expect.poll(() => page.getByTestId('session-row').count(), { timeout: 15_000 }).toBe(2)
    // The app signs in with DPoP (RFC 9449) by default, and the server says each session is bound.
    await expect.poll(() => page.locator('[data-testid^="binding-"]').allTextContents(), { timeout: 15_000 }).toEqual([
      expect.stringMatching(/^Bound to the device.s key \(DPoP\)/),
      expect.stringMatching(/^Bound to the device.s key \(DPoP\)/),
    ])
    await page.screenshot({ path: join(screenshots, 'sessions.png') })
    await page.locator('[data-testid^="revoke-"]').first().click()
    await expect.poll(() => page.getByTestId('session-row').count(), { timeout: 15_000 }).toBe(1)

    await other.reload()
    await expect.poll(() => other.getByText(/session ended/i).count(), { timeout: 15_000 }).toBe(1)
    expect(new URL(other.url()).pathname).toContain('sign-in')
    await other.screenshot({ path: join(screenshots, 'signed-out-elsewhere.png') })
  })

  it('5. offline past expiry: the app shows offline, stays signed in, and recovers without a sign-in', async () => {
    const { context, page } = await newPage()
    const email = await signUp(page)
    const online = await goOffline(context)
    await expect.poll(() => page.getByTestId('state-badge').textContent(), { timeout: ACCESS_TTL_S * 1000 + 10_000 }).toContain('Offline')
    await sleep(ACCESS_TTL_S * 1000) // well past the access token's expiry
    await page.screenshot({ path: join(screenshots, 'offline.png') })
    expect(new URL(page.url()).pathname).not.toContain('sign-in')
    await online()
    await expect.poll(() => page.getByTestId('state-badge').textContent(), { timeout: 15_000 }).toContain('Signed in')
    expect(new URL(page.url()).pathname).not.toContain('sign-in')
    expect(await parallelMe(page, 1)).toEqual([200])
    await expect.poll(() => page.getByTestId('me-email').textContent()).toContain(email)
  })

  it('6. sign out: back on sign-in, cookie gone, the old refresh token answers invalid_grant', async () => {
    const { context, page } = await newPage()
    await signUp(page)
    const before = await refreshCookie(context)
    expect(before).toBeDefined()
    await page.goto('/settings')
    await page.screenshot({ path: join(screenshots, 'settings.png') })
    await page.getByTestId('sign-out').click()
    await expect.poll(() => new URL(page.url()).pathname, { timeout: 15_000 }).toContain('sign-in')
    await expect.poll(async () => (await refreshCookie(context)) === undefined, { timeout: 15_000 }).toBe(true)
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: decodeURIComponent(before!.value) }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: string }).error).toBe('invalid_grant')
  })

  it('7. a malformed email and a wrong password show their messages', async () => {
    const { page } = await newPage()
    const email = await signUp(page)
    const { page: fresh } = await newPage()
    await fresh.goto('/sign-in')
    await fillAndSubmit(fresh, 'not-an-email', 'whatever')
    await expect.poll(() => fresh.getByText('Enter a valid email address.').count()).toBe(1)
    await fillAndSubmit(fresh, email, 'wrong password')
    await expect.poll(() => fresh.getByText('Wrong email or password.').count(), { timeout: 15_000 }).toBe(1)
    await fresh.screenshot({ path: join(screenshots, 'sign-in-error.png') })
    await fresh.goto('/sign-up')
    await fresh.screenshot({ path: join(screenshots, 'sign-up.png') })
  })
})
