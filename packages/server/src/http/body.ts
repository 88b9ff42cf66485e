import type { Context } from 'hono'
import { z } from 'zod'
import { RAW_PASSWORD_MAX } from '../accounts/password-policy.js'
import { ClientAbortError, HttpError, invalidRequest, isClientAbort } from './errors.js'

export type BodyKind = 'json' | 'form'

function mediaType(c: Context): string {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
}

/**
 * Reads a request body as a flat object of the accepted kinds. Wrong content type → 415;
 * unparseable JSON, a non-object JSON body or a form parameter given twice (RFC 6749 §3.2) → 400,
 * except the `repeatable` ones, whose repeated values come as an array (RFC 8707 §2 `resource`).
 * An empty body is `{}` when `optional`.
 */
export async function readBody(c: Context, kinds: BodyKind[], optional = false, repeatable: readonly string[] = []): Promise<Record<string, unknown>> {
  const text = await bodyText(c)
  if (text.length === 0 && optional) return {}
  const type = mediaType(c)
  if (type === 'application/json' && kinds.includes('json')) {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      throw invalidRequest('the body is not valid JSON')
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidRequest('the JSON body must be an object')
    return value as Record<string, unknown>
  }
  if (type === 'application/x-www-form-urlencoded' && kinds.includes('form')) {
    const params = new URLSearchParams(text)
    const out: Record<string, unknown> = {}
    for (const [k, v] of params) {
      if (!Object.hasOwn(out, k)) out[k] = v
      else if (repeatable.includes(k)) out[k] = [out[k], v].flat()
      else throw invalidRequest(`the parameter ${safeName(k)} is given more than once`)
    }
    return out
  }
  const accepted = kinds.map((k) => (k === 'json' ? 'application/json' : 'application/x-www-form-urlencoded')).join(' or ')
  throw new HttpError(415, 'invalid_request', `the body must be ${accepted}`)
}

/** The body as text; a client that aborts or breaks it mid-way is a ClientAbortError (400, logged at info). */
async function bodyText(c: Context): Promise<string> {
  try {
    return await c.req.text()
  } catch (e) {
    throw isClientAbort(e) ? new ClientAbortError(e) : e
  }
}

const safeName = (k: string) => JSON.stringify(k.slice(0, 40).replace(/[^\x20-\x7e]/g, '?'))

/** Validates with a zod schema; the first problem becomes a 400 naming the field (never echoing values). */
export function validate<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const issue = r.error.issues[0]!
  const field = issue.path.length ? issue.path.map(String).join('.') : 'body'
  throw invalidRequest(`${field}: ${issue.message}`)
}

const noNul = (s: string) => !s.includes('\u0000')

export const emailSchema = z
  .string({ error: 'must be a string' })
  .max(254, 'must be at most 254 characters')
  .refine(noNul, 'must not contain NUL characters')
  .transform((s) => s.trim())
  .pipe(z.email({ error: 'must be a valid email address' }))

/**
 * A password as given (any Unicode, NFKC-normalised here). Only bounded: the rules a new password
 * must meet (length in code points after NFKC, blocklist, context words) are the password policy's
 * (accounts/password-policy.ts), applied where a password is set; signing in checks none of them.
 */
export const passwordSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(RAW_PASSWORD_MAX, `must be at most ${RAW_PASSWORD_MAX} characters`)
  .refine(noNul, 'must not contain NUL characters')
  .transform((s) => s.normalize('NFKC'))

export const deviceSchema = z
  .string({ error: 'must be a string' })
  .max(100, 'must be at most 100 characters')
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters')
  .transform((s) => s.trim() || null)
  .nullish()
  .transform((s) => s ?? null)

export const credentialsSchema = z.object({ email: emailSchema, password: passwordSchema, device: deviceSchema }, { error: 'must be an object' })

/** A token-ish string parameter: bounded, printable ASCII (what any of our tokens is). */
export const tokenParam = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(4096, 'is too long')
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII')
