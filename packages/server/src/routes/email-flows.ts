import { Hono } from 'hono'
import { z } from 'zod'
import type { EmailFlows } from '../email/flows.js'
import { credentialsSchema, emailSchema, passwordSchema, readBody, validate } from '../http/body.js'
import type { AppEnv } from '../http/context.js'
import { accessCredentials } from '../http/dpop.js'

const codeSchema = z
  .string({ error: 'must be a string' })
  .max(32, 'must be at most 32 characters')
  .regex(/^[0-9\s-]+$/, 'must be the digits from the message')

const requestSchema = z.object({ email: emailSchema }, { error: 'must be an object' })
const resetSchema = z.object({ email: emailSchema, code: codeSchema, new_password: passwordSchema }, { error: 'must be an object' })
const verifySchema = z.object({ code: codeSchema }, { error: 'must be an object' })
const verifyByEmailSchema = z.object({ email: emailSchema, code: codeSchema }, { error: 'must be an object' })

/** Password reset by emailed code and email verification (email/flows.ts), under /auth. */
export function emailFlowRoutes(flows: EmailFlows) {
  const r = new Hono<AppEnv>()

  // 202 and the same body whether or not the address has an account (no enumeration).
  r.post('/password-reset/request', async (c) => {
    const body = validate(requestSchema, await readBody(c, ['json', 'form']))
    await flows.requestPasswordReset({ email: body.email, ip: c.var.ipBlock })
    return c.json({ ok: true, message: 'if an account has this address, a code was sent to it' }, 202)
  })

  r.post('/password-reset/complete', async (c) => {
    const body = validate(resetSchema, await readBody(c, ['json', 'form']))
    const result = await flows.resetPassword({ email: body.email, code: body.code, newPassword: body.new_password, ip: c.var.ipBlock })
    return c.json({ ok: true, ...result })
  })

  // With a session (Bearer): the signed-in account. Without one: `{email}` (the same 202 for any
  // address), for accounts that cannot sign in before verifying (requireEmailVerification).
  r.post('/verify-email/request', async (c) => {
    if (c.req.header('authorization') === undefined) {
      const body = validate(requestSchema, await readBody(c, ['json', 'form']))
      await flows.requestVerificationByEmail({ email: body.email, ip: c.var.ipBlock })
      return c.json({ ok: true, message: 'if this address has an account that is not verified yet, a code was sent to it' }, 202)
    }
    const caller = await c.get('service').authenticate(accessCredentials(c), { live: true })
    const result = await flows.requestVerification(caller, c.var.ipBlock)
    return c.json({ ok: true, ...result }, result.alreadyVerified ? 200 : 202)
  })

  r.post('/verify-email', async (c) => {
    if (c.req.header('authorization') === undefined) {
      const body = validate(verifyByEmailSchema, await readBody(c, ['json', 'form']))
      await flows.verifyEmailByAddress({ email: body.email, code: body.code, ip: c.var.ipBlock })
      return c.json({ ok: true, email_verified: true })
    }
    const caller = await c.get('service').authenticate(accessCredentials(c), { live: true })
    const body = validate(verifySchema, await readBody(c, ['json', 'form']))
    await flows.verifyEmail(caller, body.code, c.var.ipBlock)
    return c.json({ ok: true, email_verified: true })
  })

  return r
}

/**
 * POST /auth/sign-up when verification is required (registered before the ordinary sign-up): 202
 * without tokens, the same for new and taken addresses; the code arrives by email, then
 * POST /auth/verify-email `{email, code}`, then sign-in.
 */
export function verifiedSignUpRoutes(flows: EmailFlows) {
  const r = new Hono<AppEnv>()
  r.post('/sign-up', async (c) => {
    const raw = await readBody(c, ['json', 'form'], false, ['resource'])
    const body = validate(credentialsSchema, raw)
    await flows.signUpWithVerification({ email: body.email, password: body.password, ip: c.var.ipBlock })
    return c.json({ ok: true, verification_required: true, message: 'check your email for a code to confirm your address, then sign in' }, 202)
  })

  return r
}
