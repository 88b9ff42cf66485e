import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { changePassword, deleteAccount, deleteAccountWithPassword } from '../accounts/accounts.js'
import { emailSchema, passwordSchema, readBody, validate } from '../http/body.js'
import { clearRefreshCookie, wantsCookie } from '../http/cookies.js'
import { requireCaller, type AppEnv } from '../http/context.js'
import { HttpError } from '../http/errors.js'

const changeSchema = z.object(
  {
    current_password: passwordSchema,
    // Bounded and NFKC-normalised like any password (no NUL: it could never be typed at sign-in); the policy decides the rest.
    new_password: passwordSchema,
    end_sessions: z.enum(['others', 'all', 'none'], { error: 'must be others, all or none' }).optional(),
  },
  { error: 'must be an object' },
)

const deleteSchema = z.object({ password: passwordSchema }, { error: 'must be an object' })

/**
 * The signed-in account: changing its password, deleting it. Both end sessions, so both need a
 * live session of the caller's own (OWASP ASVS 5.0 V7.4.1, as sign-out-others), whatever
 * `checkSessionOnAccess` says, and both ask for the password again (a fresh proof of ownership).
 */
export function accountRoutes() {
  const r = new Hono<AppEnv>()

  r.post('/change-password', requireCaller({ live: true }), async (c) => {
    const body = validate(changeSchema, await readBody(c, ['json', 'form']))
    const result = await changePassword(c.get('service'), c.get('caller'), {
      currentPassword: body.current_password,
      newPassword: body.new_password,
      endSessions: body.end_sessions ?? 'others',
      ip: c.var.ipBlock,
    })
    if (result.sessionEnded && wantsCookie(c)) clearRefreshCookie(c)
    return c.json({ ok: true, ...result })
  })

  r.post('/delete-account', requireCaller({ live: true }), async (c) => {
    const body = validate(deleteSchema, await readBody(c, ['json', 'form']))
    const result = await deleteAccount(c.get('service'), c.get('caller'), { password: body.password, ip: c.var.ipBlock })
    if (wantsCookie(c)) clearRefreshCookie(c)
    // The client ends its session locally (its tokens are already refused) and runs its cleanups.
    return c.json({ ok: true, deleted: true, ...result })
  })

  return r
}

/**
 * GET /account/delete: a page where deletion can be requested without the app (Google Play's
 * account-deletion policy asks for one, linked from the store listing). The form signs in with
 * the email and password and deletes at once, with the same proof, limits and transaction as
 * POST /auth/delete-account. No session or cookie is involved, so a forged cross-site post can do
 * nothing its sender could not do with the password alone.
 */
export function accountPageRoutes() {
  const r = new Hono<AppEnv>()
  const formSchema = z.object({ email: emailSchema, password: passwordSchema, confirm: z.literal('yes', { error: 'tick the box to confirm' }) }, { error: 'must be an object' })

  r.get('/delete', (c) => page(c, 200, form()))

  r.post('/delete', async (c) => {
    let input: z.infer<typeof formSchema>
    try {
      input = validate(formSchema, await readBody(c, ['form']))
    } catch (e) {
      if (e instanceof HttpError) return page(c, e.status, form(e.description.startsWith('confirm') ? 'Tick the box to confirm the deletion.' : 'Enter your email and password.'))
      throw e
    }
    try {
      await deleteAccountWithPassword(c.get('service'), { email: input.email, password: input.password, ip: c.var.ipBlock })
    } catch (e) {
      if (!(e instanceof HttpError)) throw e
      for (const [k, v] of Object.entries(e.headers)) c.header(k, v)
      const message =
        e.status === 429 ? 'Too many attempts. Try again later.'
        : e.status === 503 ? 'The server is busy. Try again in a moment.'
        : 'The email or password is incorrect.'
      return page(c, e.status, form(message))
    }
    return page(c, 200, '<h1>Account deleted</h1><p>Your account, its sessions and its personal data have been deleted. Every device signed in to it is signed out.</p>')
  })

  return r
}

function form(error?: string): string {
  return `<h1>Delete your account</h1>
<p>This deletes your account and signs out every device. It cannot be undone.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="delete">
<label>Email <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<label class="confirm"><input name="confirm" type="checkbox" value="yes" required> I understand that my account will be deleted for good.</label>
<button type="submit">Delete my account</button>
</form>`
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

function page(c: Context<AppEnv>, status: HttpError['status'] | 200, body: string): Response {
  c.header('Cache-Control', 'no-store')
  // Nothing but this page's own inline style; no scripts, no framing, the form posts here only.
  c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
  return c.html(
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Delete your account</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.4}label{display:block;margin:.8rem 0}input[type=email],input[type=password]{display:block;width:100%;padding:.4rem;box-sizing:border-box}.error{color:#b00020}button{padding:.5rem 1rem;background:#b00020;color:#fff;border:0;border-radius:4px}</style>
</head><body>${body}</body></html>`,
    status as 200,
  )
}
