// End-to-end (issue 15): the example app's admin screen, behind Stack.Protected guard={hasRole('admin')},
// in real Chromium against the real server. An admin sees it and its list of users; a user sees no
// link, cannot open it by URL, and gets 403 from the server route when calling it anyway.
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { e2eHarness } from './harness.js'

const e2e = e2eHarness({ name: 'roles', accessTtl: 600 })
const newPage = async () => (await e2e.newPage()).page

let accounts = 0
const newEmail = () => `roles${Date.now()}-${++accounts}@example.com`

async function signUp(page: Page): Promise<string> {
  const email = newEmail()
  await page.goto('/sign-up')
  await page.getByTestId('email').fill(email)
  await page.getByTestId('password').fill('correct horse battery staple')
  await page.getByTestId('submit').click()
  await expect.poll(() => page.getByTestId('me-email').textContent(), { timeout: 15_000 }).toContain(email)
  return email
}

/** GET /admin/users through the app's own session client (the access token it holds), from inside the page. */
const callAdminRoute = (page: Page) =>
  page.evaluate(async () => {
    const hook = (window as unknown as { __latchkeyExample: { session: { fetch(u: string): Promise<Response> }; apiUrl: string } }).__latchkeyExample
    const res = await hook.session.fetch(`${hook.apiUrl}/admin/users`)
    return { status: res.status, challenge: res.headers.get('www-authenticate') }
  })

describe('roles in the example app', () => {
  it('an admin sees the admin screen and the users listed by the server', async () => {
    const page = await newPage()
    const email = await signUp(page)
    await expect.poll(() => page.getByTestId('admin-link').count()).toBe(0)
    await e2e.server.grantRole(email, 'admin')
    // The claim changes at the next refresh: a reload restores the session through a refresh.
    await page.reload()
    await expect.poll(() => page.getByTestId('me-email').textContent(), { timeout: 15_000 }).toContain(email)
    await page.getByTestId('admin-link').click()
    await expect.poll(() => page.getByTestId('user-row').filter({ hasText: email }).count(), { timeout: 15_000 }).toBe(1)
    await expect.poll(() => page.getByTestId('user-row').filter({ hasText: email }).textContent()).toContain('admin')
    expect((await callAdminRoute(page)).status).toBe(200)
  })

  it('a user sees no admin screen, cannot open it by URL, and gets 403 from the route', async () => {
    const page = await newPage()
    await signUp(page)
    expect(await page.getByTestId('admin-link').count()).toBe(0)
    await page.goto('/users') // the admin screen's URL (/admin is the API's)
    await expect.poll(() => page.getByTestId('me-email').count(), { timeout: 15_000 }).toBe(1) // redirected to an allowed screen, signed in
    expect(await page.getByTestId('user-row').count()).toBe(0)
    expect(new URL(page.url()).pathname).not.toBe('/users')
    const answer = await callAdminRoute(page)
    expect(answer.status).toBe(403)
    expect(answer.challenge).toMatch(/^Bearer error="insufficient_scope"/)
  })
})
