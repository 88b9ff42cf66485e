import { Hono } from 'hono'
import { z } from 'zod'
import type { EmailFlows } from '../email/flows.js'
import { emailSchema, passwordSchema, readBody, validate } from '../http/body.js'
import { requireCaller, type AppEnv } from '../http/context.js'

const codeSchema = z
  .string({ error: 'must be a string' })
  .max(32, 'must be at most 32 characters')
  .regex(/^[0-9\s-]+$/, 'must be the digits from the message')

const requestSchema = z.object({ email: emailSchema }, { error: 'must be an object' })
const resetSchema = z.object({ email: emailSchema, code: codeSchema, new_password: passwordSchema }, { error: 'must be an object' })
const verifySchema = z.object({ code: codeSchema }, { error: 'must be an object' })

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

  r.post('/verify-email/request', requireCaller({ live: true }), async (c) => {
    const result = await flows.requestVerification(c.get('caller'), c.var.ipBlock)
    return c.json({ ok: true, ...result }, result.alreadyVerified ? 200 : 202)
  })

  r.post('/verify-email', requireCaller({ live: true }), async (c) => {
    const body = validate(verifySchema, await readBody(c, ['json', 'form']))
    await flows.verifyEmail(c.get('caller'), body.code, c.var.ipBlock)
    return c.json({ ok: true, email_verified: true })
  })

  return r
}
