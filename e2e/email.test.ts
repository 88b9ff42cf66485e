// End-to-end (issue 13): the whole account life of the example app in real Chromium against the
// real server, with the mail going over real SMTP (an in-process `smtp-server`): sign up → confirm
// the address with the emailed code → change the password → sign out → forgot password → reset
// with the emailed code → sign in with the new password → delete the account → signing in fails.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestSmtp, codeOf, type ReceivedMail } from '../packages/server/src/test-support/smtp.js'
import { e2eHarness } from './harness.js'

const smtp = new TestSmtp()
beforeAll(() => smtp.start()) // registered before the harness's hooks: the server gets its URL
afterAll(() => smtp.stop())
const { newPage } = e2eHarness({ name: 'email', accessTtl: 600, smtpUrl: () => smtp.url })

const FIRST = 'correct horse battery staple'
const SECOND = 'violet tractor under the pier'
const THIRD = 'seven lanterns over a quiet harbour'
const wait = { timeout: 15_000 }

const path = (page: Page) => new URL(page.url()).pathname
const shown = (page: Page, text: string | RegExp) => expect.poll(() => page.getByText(text).count(), wait).toBeGreaterThan(0)
const signedInAs = (page: Page, email: string) => expect.poll(() => page.getByTestId('me-email').textContent(), wait).toContain(email)

/** The code of the `n`th message to `email` whose text matches `kind`, once it has arrived over SMTP. */
async function codeFrom(email: string, kind: RegExp, n = 1): Promise<string> {
  for (let seen = 1; ; seen++) {
    await smtp.waitFor(email, seen)
    const matching = smtp.to(email).filter((m: ReceivedMail) => kind.test(m.raw))
    if (matching.length >= n) return codeOf(matching[n - 1]!)
  }
}

async function submitCredentials(page: Page, email: string, password: string) {
  await page.getByTestId('email').fill(email)
  await page.getByTestId('password').fill(password)
  await page.getByTestId('submit').click()
}

describe('the account life of the example app, with mail over SMTP', () => {
  it('sign up → verify → change password → sign out → forgot → reset → sign in → delete → sign-in fails', async () => {
    const { page } = await newPage()
    const email = `life${Date.now()}@example.com`

    // Sign up: signed in at once, with the banner asking for the code sent at sign-up.
    await page.goto('/sign-up')
    await submitCredentials(page, email, FIRST)
    await signedInAs(page, email)
    await expect.poll(() => page.getByTestId('verify-banner').count(), wait).toBe(1)
    const verification = await codeFrom(email, /confirm your email address/i)
    // A wrong code first: refused in plain words, still unverified.
    await page.getByTestId('banner-code').fill(verification === '00000000' ? '00000001' : '00000000')
    await page.getByTestId('banner-verify').click()
    await shown(page, 'That code is not right, or it has expired. Ask for a new one.')
    await page.getByTestId('banner-code').fill(verification)
    await page.getByTestId('banner-verify').click()
    await expect.poll(() => page.getByTestId('email-verified').count(), wait).toBe(1)
    expect(await page.getByTestId('verify-banner').count()).toBe(0)
    // Confirmed on the server, not only on the screen.
    await page.reload()
    await expect.poll(() => page.getByTestId('email-verified').count(), wait).toBe(1)

    // Change the password.
    await page.getByText('Settings', { exact: true }).click()
    await page.getByTestId('change-password-link').click()
    await page.getByTestId('current-password').fill(FIRST)
    await page.getByTestId('new-password').fill(SECOND)
    await page.getByTestId('change-password').click()
    await shown(page, /Your password has been changed/)

    // Sign out.
    await page.goto('/settings')
    await page.getByTestId('sign-out').click()
    await expect.poll(() => path(page), wait).toContain('sign-in')

    // Forgot password: the request, the emailed code, a wrong code, then the right one.
    await page.getByTestId('email').fill(email)
    await page.getByTestId('forgot-password-link').click()
    await expect.poll(() => path(page), wait).toContain('forgot-password')
    await expect.poll(() => page.getByTestId('reset-email').inputValue(), wait).toBe(email)
    await page.getByTestId('send-reset-code').click()
    await shown(page, /a code is on its way/)
    const reset = await codeFrom(email, /password reset code/i)
    await page.getByTestId('reset-code').fill(reset === '00000000' ? '00000001' : '00000000')
    await page.getByTestId('reset-password').fill(THIRD)
    await page.getByTestId('reset-submit').click()
    await shown(page, 'That code is not right, or it has expired. Ask for a new one.')
    await page.getByTestId('reset-code').fill(reset)
    await page.getByTestId('reset-submit').click()
    await shown(page, /Your password has been reset/)
    await page.getByTestId('back-to-sign-in').click()
    await expect.poll(() => path(page), wait).toContain('sign-in')

    // The password before the reset no longer signs in; the new one does.
    await submitCredentials(page, email, SECOND)
    await shown(page, 'Wrong email or password.')
    await submitCredentials(page, email, THIRD)
    await signedInAs(page, email)

    // Delete the account, with its confirmation step.
    await page.getByText('Settings', { exact: true }).click()
    await page.getByTestId('delete-account-link').click()
    await page.getByTestId('start-delete').click()
    await page.getByTestId('delete-password').fill(THIRD)
    await page.getByTestId('confirm-delete').click()
    await expect.poll(() => path(page), wait).toContain('sign-in')
    await shown(page, /Your account has been deleted/)

    // Signing in again fails.
    await submitCredentials(page, email, THIRD)
    await shown(page, 'Wrong email or password.')
  }, 240_000) // about 15 Argon2 hashes and several page loads on a machine shared with other runs
})
