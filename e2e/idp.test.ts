// End-to-end (issue 15): the example app's "Sign in with Google" and "Sign in with Apple" buttons in
// real Chromium, against the development stand-ins that `npm start` runs (scripts/dev-idp.mjs:
// oidc-provider with its login and consent pages, real ID tokens). The app runs the authorization
// code flow with PKCE, the server verifies the ID token (issuer, audience, nonce: raw for the Google
// stand-in, SHA-256 for the Apple one) and answers our own session.
import { createServer } from 'node:net'
import type { Page } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { DEV_IDP_CLIENT, DEV_IDP_NATIVE_CLIENT, startDevIdp } from '../scripts/dev-idp.mjs'
import { e2eHarness } from './harness.js'

const idps: Array<{ issuer: string; close(): Promise<void> }> = []
afterAll(async () => {
  for (const i of idps) await i.close()
})

/** A free loopback port, so the stand-ins can register the app's redirect URI before the server starts. */
async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

const harness = e2eHarness({
  name: 'idp',
  accessTtl: 600,
  server: async () => {
    const port = await freePort()
    const appOrigins = [`http://127.0.0.1:${port}`]
    const [google, apple] = await Promise.all([startDevIdp({ port: 0, appOrigins }), startDevIdp({ port: 0, appOrigins })])
    idps.push(google, apple)
    return {
      port,
      identityProviders: [
        { type: 'oidc', name: 'google', issuer: google.issuer, clientIds: [DEV_IDP_CLIENT, DEV_IDP_NATIVE_CLIENT], nonce: 'raw' },
        { type: 'oidc', name: 'apple', issuer: apple.issuer, clientIds: [DEV_IDP_CLIENT, DEV_IDP_NATIVE_CLIENT], nonce: 'sha256' },
      ],
    }
  },
})
const wait = { timeout: 20_000 }
const signedInAs = (page: Page, email: string) => expect.poll(() => page.getByTestId('me-email').textContent(), wait).toContain(email)

/** The stand-in's own login page (any login, any password), then its consent page. */
async function loginAtProvider(page: Page, login: string) {
  await page.locator('input[name="login"]').fill(login, wait)
  await page.locator('input[name="password"]').fill('anything')
  await page.locator('button[type="submit"]').click()
  await page.locator('button[type="submit"]').click(wait) // consent: "Continue"
}

describe('sign in with an identity provider in the example app (web, development stand-ins)', () => {
  for (const provider of ['google', 'apple'] as const) {
    it(`"Sign in with ${provider}": the provider's login, back in the app signed in; a second sign-in finds the same account`, async () => {
      const login = `${provider}-user-${Date.now()}`
      const email = `${login}@example.test`
      const { page } = await harness.newPage()
      await page.goto('/sign-in')
      await page.getByTestId(`idp-${provider}`).click(wait)
      await loginAtProvider(page, login)
      await signedInAs(page, email)
      expect(new URL(page.url()).pathname).not.toContain('idp-callback')

      // Another browser: the same identity signs in to the same account (no second one).
      const { page: other } = await harness.newPage()
      await other.goto('/sign-in')
      await other.getByTestId(`idp-${provider}`).click(wait)
      await loginAtProvider(other, login)
      await signedInAs(other, email)
      expect(await harness.server.countUsers(email)).toBe(1)
    }, 180_000)
  }

  it('an answer that was not started here (a forged callback) is refused, and nothing is signed in', async () => {
    const { page } = await harness.newPage()
    await page.goto('/idp-callback?code=forged&state=forged')
    await expect.poll(() => page.getByText(/was not started here/).count(), wait).toBe(1)
    await page.getByTestId('back-to-sign-in').click()
    await expect.poll(() => page.getByTestId('submit').count(), wait).toBe(1)
  }, 60_000)
})
