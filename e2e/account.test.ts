// End-to-end (issue 13): the example app's "Change password" and "Delete account" screens in real
// Chromium against the real server (POST /auth/change-password, /auth/delete-account).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { e2eHarness } from './harness.js'

const { newPage } = e2eHarness({ name: 'account', accessTtl: 600 })
const screenshots = join(import.meta.dirname, 'screenshots')
mkdirSync(screenshots, { recursive: true })
const snap = (page: Page, name: string) => page.screenshot({ path: join(screenshots, `${name}.png`) })

const OLD_PASSWORD = 'correct horse battery staple'
const NEW_PASSWORD = 'violet tractor under the pier'
const wait = { timeout: 15_000 }

async function submitCredentials(page: Page, email: string, password: string) {
  await page.getByTestId('email').fill(email)
  await page.getByTestId('password').fill(password)
  await page.getByTestId('submit').click()
}

const signedInAs = (page: Page, email: string) => expect.poll(() => page.getByTestId('me-email').textContent(), wait).toContain(email)
const path = (page: Page) => new URL(page.url()).pathname
const shown = (page: Page, text: string | RegExp) => expect.poll(() => page.getByText(text).count(), wait).toBe(1)
const refreshCookie = async (context: BrowserContext) => (await context.cookies()).find((c) => c.httpOnly && /refresh/i.test(c.name))

/** Home → Settings → the named screen, by the links a user follows. */
async function openFromSettings(page: Page, link: 'change-password-link' | 'delete-account-link') {
  await page.getByText('Settings', { exact: true }).click()
  await page.getByTestId(link).click()
}

describe('account management in the example app', () => {
  it('change password (policy refusal first), sign in with the new one only; delete (cancel, then confirm); the email is free again', async () => {
    const { context, page } = await newPage()
    const email = `account${Date.now()}@example.com`
    await page.goto('/sign-up')
    // Sign-up shows the same plain words for the server's policy refusal.
    await submitCredentials(page, email, 'password123')
    await shown(page, /This password is too common/)
    await submitCredentials(page, email, OLD_PASSWORD)
    await signedInAs(page, email)

    // A second device, to see that a password change signs the others out by default.
    const { page: other } = await newPage()
    await other.goto('/sign-in')
    await submitCredentials(other, email, OLD_PASSWORD)
    await signedInAs(other, email)

    // Change password: a wrong current password, then a common new one, each shown in plain words.
    await openFromSettings(page, 'change-password-link')
    await page.getByTestId('current-password').fill('not my password at all')
    await page.getByTestId('new-password').fill(NEW_PASSWORD)
    await page.getByTestId('change-password').click()
    await shown(page, 'Your current password is not right.')
    await page.getByTestId('current-password').fill(OLD_PASSWORD)
    await page.getByTestId('new-password').fill('password123')
    await page.getByTestId('change-password').click()
    await shown(page, /This password is too common/)
    await snap(page, 'change-password-refused')
    expect(await page.getByText(/has been changed/).count()).toBe(0)
    // The sign-out-others switch is on unless the user turns it off.
    expect(await page.getByRole('switch', { name: 'Sign out my other devices' }).isChecked()).toBe(true)
    await page.getByTestId('new-password').fill(NEW_PASSWORD)
    await page.getByTestId('change-password').click()
    await shown(page, 'Your password has been changed. 1 other device was signed out.')
    await snap(page, 'change-password-done')
    expect(await page.getByText(/too common/).count()).toBe(0)

    // The other device's session has ended; this one's has not.
    await other.reload()
    await shown(other, /session ended/i)
    expect(path(other)).toContain('sign-in')
    await page.goto('/')
    await signedInAs(page, email)

    // Sign out; the old password no longer signs in, the new one does.
    await page.goto('/settings')
    await page.getByTestId('sign-out').click()
    await expect.poll(() => path(page), wait).toContain('sign-in')
    await submitCredentials(page, email, OLD_PASSWORD)
    await shown(page, 'Wrong email or password.')
    await submitCredentials(page, email, NEW_PASSWORD)
    await signedInAs(page, email)

    // Delete account: cancel once (nothing happens), then a wrong password, then confirm.
    await openFromSettings(page, 'delete-account-link')
    await page.getByTestId('start-delete').click()
    await page.getByTestId('delete-password').fill(NEW_PASSWORD)
    await page.getByTestId('cancel-delete').click()
    await expect.poll(() => page.getByTestId('delete-password').count(), wait).toBe(0)
    await page.goto('/')
    await signedInAs(page, email) // still there: /me answers for the account
    await openFromSettings(page, 'delete-account-link')
    await page.getByTestId('start-delete').click()
    await page.getByTestId('delete-password').fill(OLD_PASSWORD)
    await page.getByTestId('confirm-delete').click()
    await shown(page, 'That password is not right.')
    await snap(page, 'delete-account-confirm')
    expect(path(page)).toContain('delete-account')
    await page.getByTestId('delete-password').fill(NEW_PASSWORD)
    await page.getByTestId('confirm-delete').click()

    // Signed out locally, at the sign-in screen with a message; the refresh cookie is gone.
    await expect.poll(() => path(page), wait).toContain('sign-in')
    await shown(page, /Your account has been deleted/)
    await snap(page, 'account-deleted')
    await expect.poll(async () => (await refreshCookie(context)) === undefined, wait).toBe(true)

    // The account is gone: signing in fails; the same email can sign up again.
    await submitCredentials(page, email, NEW_PASSWORD)
    await shown(page, 'Wrong email or password.')
    await page.goto('/sign-up')
    await submitCredentials(page, email, OLD_PASSWORD)
    await signedInAs(page, email)
  }, 180_000) // about 20 Argon2 hashes and three page loads: room for a machine shared with other runs
})
