/**
 * The password policy of sign-up, password change and password reset: NIST SP 800-63B-4
 * §3.1.1.2 (and OWASP ASVS 5.0 V6.2):
 * - length in Unicode code points after NFKC normalisation (§3.1.1.2: "each Unicode code point
 *   SHALL be counted as a single character"; passwords are normalised with NFKC before they are
 *   hashed, so the length that counts is the normalised one): at least `minLength` (default 8),
 *   at most `maxLength` (default 256; at least 64 must be allowed);
 * - not a commonly used password (a blocklist, compared case-insensitively), nor a trivially
 *   repeated or sequential one (`aaaaaaaa`, `12341234`, `87654321`);
 * - no context-specific words: the local part of the account's email (and its pieces), the
 *   whole email, the app's name;
 * - no composition rules, no hints, no periodic expiry (§3.1.1.2 SHALL NOT).
 * Every refusal names the rule that failed (`reason`), so an app can tell its user what to change.
 *
 * The blocklist: the `passwords-common` dictionary of `@zxcvbn-ts/language-common` (MIT licence,
 * https://github.com/zxcvbn-ts/zxcvbn): 49 233 passwords that occur more than ten times in Mark
 * Burnett's ten-million-password corpus (Xato, 2015, public domain), most frequent first,
 * lowercased. The package leaves out entries that zxcvbn's own pattern rules (repeats, sequences,
 * dates) already rate weak; the repeat and sequence rule here covers the first two of those.
 * It is decompressed once, on first use (`loadPasswordBlocklist`; the app calls it at start).
 */
import { HttpError, invalidRequest } from '../http/errors.js'

export type PasswordPolicyReason = 'password_too_short' | 'password_too_long' | 'password_common' | 'password_contains_context'

export interface PasswordPolicyOptions {
  /** Fewest code points after NFKC. Default 8 (NIST SP 800-63B-4 §3.1.1.2 with a second factor; 15 for a password alone). */
  minLength: number
  /** Most code points after NFKC. Default 256 (NIST: at least 64 SHALL be allowed). */
  maxLength: number
  /** The service's name: a password containing it is refused (a context-specific word). */
  appName: string
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicyOptions = { minLength: 8, maxLength: 256, appName: 'latchkey' }

/** What `checkPasswordPolicy` needs: the policy's settings and the account the password is for. */
export interface PasswordContext extends Partial<PasswordPolicyOptions> {
  /** The account's email: its local part (and pieces of it) are context words. */
  email?: string
  /** More context words (a display name, say). */
  words?: readonly string[]
}

export type PasswordPolicyResult =
  | { ok: true; /** The NFKC-normalised password: the one to hash. */ password: string }
  | { ok: false; reason: PasswordPolicyReason; description: string }

/** Raw input bound before normalisation (UTF-16 units): NFKC can expand a code point up to 18-fold. */
export const RAW_PASSWORD_MAX = 4096

/**
 * Context words shorter than this are not checked: the whole local part and the app's name from 3
 * code points, the pieces of the local part from 4 (a three-letter piece such as `doe` would refuse
 * ordinary passphrases: "the door").
 */
const MIN_CONTEXT_WORD = 3
const MIN_CONTEXT_PIECE = 4

let blocklist: Promise<ReadonlySet<string>> | undefined

/** Loads (once per process) and returns the blocklist. */
export function loadPasswordBlocklist(): Promise<ReadonlySet<string>> {
  blocklist ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => {
    const words = (dictionary as Record<string, unknown>)['passwords-common']
    if (!Array.isArray(words) || words.length < 10_000) throw new Error('the password blocklist (@zxcvbn-ts/language-common passwords-common) did not load')
    return new Set((words as string[]).map((w) => w.normalize('NFKC').toLowerCase()))
  })
  blocklist.catch(() => {
    blocklist = undefined
  })
  return blocklist
}

const codePoints = (s: string) => [...s]

/** One unit of at most 4 code points repeated over the whole password (`aaaaaaaa`, `abab…`, `12341234`). */
function isRepeated(cps: string[]): boolean {
  for (let unit = 1; unit <= 4 && unit < cps.length; unit++) {
    if (cps.every((c, i) => i < unit || c === cps[i - unit])) return true
  }
  return false
}

/** Consecutive code points, ascending or descending (`abcdefgh`, `87654321`). */
function isSequence(cps: string[]): boolean {
  if (cps.length < 3) return false
  const step = cps[1]!.codePointAt(0)! - cps[0]!.codePointAt(0)!
  if (step !== 1 && step !== -1) return false
  return cps.every((c, i) => i === 0 || c.codePointAt(0)! - cps[i - 1]!.codePointAt(0)! === step)
}

/** The context words: the app's name, extra words, the whole email, its local part, and the local part's pieces (split on . _ - + and digits). */
function contextWords(context: PasswordContext, appName: string): string[] {
  const out = new Set<string>()
  const add = (w: string | undefined, min = MIN_CONTEXT_WORD) => {
    const word = w?.normalize('NFKC').toLowerCase().trim()
    if (word && codePoints(word).length >= min) out.add(word)
  }
  add(appName)
  for (const w of context.words ?? []) add(w)
  if (context.email) {
    const email = context.email.trim()
    const at = email.lastIndexOf('@')
    const local = at > 0 ? email.slice(0, at) : email
    add(email)
    add(local)
    for (const piece of local.split(/[._+\-\d]+/)) add(piece, MIN_CONTEXT_PIECE)
  }
  return [...out]
}

/**
 * Checks a password against the policy. Exported for every flow that sets a password (sign-up,
 * change, reset): `checkPasswordPolicy(password, { ...service.o.passwordPolicy, email })`.
 */
export async function checkPasswordPolicy(password: string, context: PasswordContext = {}): Promise<PasswordPolicyResult> {
  const o = { ...DEFAULT_PASSWORD_POLICY, ...definedOnly(context) }
  const normalized = password.normalize('NFKC')
  const cps = codePoints(normalized)
  if (cps.length < o.minLength) return refuse('password_too_short', `must be at least ${o.minLength} characters`)
  if (cps.length > o.maxLength) return refuse('password_too_long', `must be at most ${o.maxLength} characters`)
  const lower = normalized.toLowerCase()
  if ((await loadPasswordBlocklist()).has(lower)) return refuse('password_common', 'is too common: it is on a list of passwords attackers try first')
  const lowerCps = codePoints(lower)
  if (isRepeated(lowerCps) || isSequence(lowerCps)) return refuse('password_common', 'is a repeated or sequential pattern that attackers try first')
  if (contextWords(context, o.appName).some((w) => lower.includes(w))) {
    return refuse('password_contains_context', "must not contain the account's email or name, or the app's name")
  }
  return { ok: true, password: normalized }
}

function definedOnly(c: PasswordContext): Partial<PasswordPolicyOptions> {
  const out: Partial<PasswordPolicyOptions> = {}
  if (c.minLength !== undefined) out.minLength = c.minLength
  if (c.maxLength !== undefined) out.maxLength = c.maxLength
  if (c.appName !== undefined) out.appName = c.appName
  return out
}

const refuse = (reason: PasswordPolicyReason, description: string): PasswordPolicyResult => ({ ok: false, reason, description })

/**
 * The answer to a refused password: 400 `invalid_password` with the failed rule in `reason`
 * (RFC 6749 §5.2 shape plus one member; the description names the field, never echoes the value).
 */
export class PasswordPolicyError extends HttpError {
  override name = 'PasswordPolicyError'
  constructor(
    readonly reason: PasswordPolicyReason,
    description: string,
    field = 'password',
  ) {
    super(400, 'invalid_password', `${field}: ${description}`, {}, { reason })
  }
}

/** `checkPasswordPolicy`, throwing `PasswordPolicyError`; returns the normalised password to hash. */
export async function enforcePasswordPolicy(password: string, context: PasswordContext, field = 'password'): Promise<string> {
  if (typeof password !== 'string') throw invalidRequest(`${field}: must be a string`)
  const r = await checkPasswordPolicy(password, context)
  if (!r.ok) throw new PasswordPolicyError(r.reason, r.description, field)
  return r.password
}
