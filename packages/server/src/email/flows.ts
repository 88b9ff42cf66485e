import { randomUUID } from 'node:crypto'
import { enforcePasswordPolicy } from '../accounts/password-policy.js'
import { HttpError } from '../http/errors.js'
import { busy, sessionEnded, type AuthService, type Caller } from '../service.js'
import { audit } from '../store/audit.js'
import { hitRateLimit, type RateRule } from '../store/rate-limit.js'
import { revokeUserSessions } from '../store/sessions.js'
import { CODE_MINUTES, CodeMac, consumeCode, newCode, storeCode } from './codes.js'
import { enqueueMail, type OutboxWorker } from './outbox.js'
import { passwordResetMail, signUpAttemptMail, verifyEmailMail } from './templates.js'
import { insertUser } from '../store/users.js'

/** Reset and verification requests per email address (whether or not it has an account). */
export const REQUESTS_PER_ADDRESS: RateRule = { max: 5, windowSeconds: 3600 }

const normalizeEmail = (email: string) => email.trim().toLowerCase()

export const invalidCode = () => new HttpError(400, 'invalid_code', 'the code is wrong, expired or already used; ask for a new one')

/**
 * Password reset by emailed code and email verification (issue 13), on the service's database,
 * limits and revocation feed. Every message goes through the outbox in the transaction of the
 * change that needs it (email/outbox.ts).
 */
export class EmailFlows {
  readonly #mac: CodeMac
  constructor(
    readonly service: AuthService,
    readonly outbox: OutboxWorker,
    readonly appName: string,
  ) {
    this.#mac = new CodeMac(service.o.macKey)
  }

  async #limit(key: string, rule: RateRule, now: Date): Promise<void> {
    if (!this.service.o.rateLimit) return
    const { count, retryAfter } = await hitRateLimit(this.service.o.db, key, rule, now)
    if (count > rule.max) throw new HttpError(429, 'rate_limited', 'too many attempts; try again later', { 'Retry-After': String(retryAfter) })
  }

  #perIp(): RateRule | undefined {
    return this.service.o.rateLimit ? this.service.o.rateLimit.perIp : undefined
  }

  /**
   * POST /auth/password-reset/request. The same answer, and the same work up to one locked read,
   * whether or not the address has an account (OWASP Forgot Password Cheat Sheet: "return a
   * consistent message for both existent and non-existent accounts" and "ensure that responses
   * return in a consistent amount of time"): the code is drawn, MACed and its message rendered in
   * both cases; only the inserts differ. Limited per client address and per email address (the
   * latter counted for unknown addresses too, so a 429 says nothing about existence).
   */
  async requestPasswordReset(input: { email: string; ip: string | null }): Promise<void> {
    const o = this.service.o
    const now = o.now()
    const email = normalizeEmail(input.email)
    const perIp = this.#perIp()
    if (perIp) await this.#limit(`reset-request-ip:${input.ip ?? 'unknown'}`, perIp, now)
    await this.#limit(`reset-request:${email}`, REQUESTS_PER_ADDRESS, now)
    const code = newCode()
    this.#mac.of(randomUUID(), code)
    const mail = passwordResetMail({ appName: this.appName, code, minutes: CODE_MINUTES })
    const queued = await o.db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select('id').where('email', '=', email).forUpdate().executeTakeFirst()
      if (!user) return false
      await storeCode(trx, this.#mac, { userId: user.id, purpose: 'password_reset', code, now })
      await enqueueMail(trx, email, mail, now)
      await audit(trx, { type: 'password_reset_requested', userId: user.id, ip: input.ip, now })
      return true
    })
    if (queued) this.outbox.wake()
  }

  /**
   * POST /auth/password-reset/complete: the code from the message and a new password (checked by
   * the password policy). In one transaction: the code used up, the password replaced, the email
   * marked verified (the code proved the mailbox), every session of the account revoked (OWASP
   * Forgot Password Cheat Sheet: "the user should … be logged out of all sessions"); the ended
   * sessions announced to every process once it commits. A wrong code counts against the code
   * (`CODE_ATTEMPTS`) and against the client address.
   */
  async resetPassword(input: { email: string; code: string; newPassword: string; ip: string | null }): Promise<{ signedOut: number }> {
    const o = this.service.o
    this.service.refuseIfBusy()
    const now = o.now()
    const email = normalizeEmail(input.email)
    const perIp = this.#perIp()
    if (perIp) await this.#limit(`reset-complete-ip:${input.ip ?? 'unknown'}`, perIp, now)
    const next = await enforcePasswordPolicy(input.newPassword, { ...o.passwordPolicy, email }, 'new_password')
    const hash = await o.passwords.hash(next).catch(busy)
    const done = await o.db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select('id').where('email', '=', email).forUpdate().executeTakeFirst()
      if (!user) return undefined
      if (!(await consumeCode(trx, this.#mac, { userId: user.id, purpose: 'password_reset', code: input.code, now }))) return { userId: user.id, ended: undefined }
      await trx.updateTable('users').set({ password_hash: hash, email_verified: true }).where('id', '=', user.id).execute()
      const ended = await revokeUserSessions(trx, user.id, 'password_reset', now)
      await audit(trx, { type: 'password_reset', userId: user.id, ip: input.ip, detail: { signedOut: ended.length }, now })
      return { userId: user.id, ended }
    })
    if (!done?.ended) {
      await audit(o.db, { type: 'password_reset_failed', userId: done?.userId ?? null, ip: input.ip, now })
      throw invalidCode()
    }
    o.revocations.ended(done.ended)
    // email_verified may have changed: this process's /me knows before the notification returns (feed/user-facts.ts).
    o.revocations.usersChanged([done.userId])
    return { signedOut: done.ended.length }
  }

  /** Queues a verification code for the account inside `trx` (sign-up, or POST /auth/verify-email/request). */
  async queueVerification(trx: Parameters<typeof storeCode>[0], user: { id: string; email: string }, ip: string | null, now: Date): Promise<void> {
    const code = newCode()
    await storeCode(trx, this.#mac, { userId: user.id, purpose: 'verify_email', code, now })
    await enqueueMail(trx, user.email, verifyEmailMail({ appName: this.appName, code, minutes: CODE_MINUTES }), now)
    await audit(trx, { type: 'email_verification_requested', userId: user.id, ip, now })
  }

  /** POST /auth/verify-email/request: a new code for the signed-in account, unless it is verified already. */
  async requestVerification(caller: Caller, ip: string | null): Promise<{ alreadyVerified: boolean }> {
    const o = this.service.o
    const now = o.now()
    await this.#limit(`verify-request:${caller.userId}`, REQUESTS_PER_ADDRESS, now)
    const result = await o.db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select(['id', 'email', 'email_verified']).where('id', '=', caller.userId).forUpdate().executeTakeFirst()
      if (!user) return undefined
      if (user.email_verified) return { alreadyVerified: true }
      await this.queueVerification(trx, user, ip, now)
      return { alreadyVerified: false }
    })
    if (!result) throw sessionEnded()
    if (!result.alreadyVerified) this.outbox.wake()
    return result
  }

  /** POST /auth/verify-email: the code sent to the signed-in account's address. */
  async verifyEmail(caller: Caller, code: string, ip: string | null): Promise<void> {
    const o = this.service.o
    const now = o.now()
    const perIp = this.#perIp()
    if (perIp) await this.#limit(`verify-ip:${ip ?? 'unknown'}`, perIp, now)
    const ok = await o.db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select(['id', 'email_verified']).where('id', '=', caller.userId).forUpdate().executeTakeFirst()
      if (!user) return undefined
      if (user.email_verified) return true
      if (!(await consumeCode(trx, this.#mac, { userId: user.id, purpose: 'verify_email', code, now }))) return false
      await trx.updateTable('users').set({ email_verified: true }).where('id', '=', user.id).execute()
      await audit(trx, { type: 'email_verified', userId: user.id, ip, now })
      return true
    })
    if (ok) o.revocations.usersChanged([caller.userId]) // this process's /me at once (feed/user-facts.ts)
    if (ok === undefined) throw sessionEnded()
    if (!ok) throw invalidCode()
  }

  /**
   * POST /auth/sign-up while verification is required: 202 and the same body whether or not the
   * address has an account (OWASP Authentication Cheat Sheet, "Authentication and Error Messages":
   * account creation must not reveal existing accounts). A new account gets a verification code; an
   * existing one a message saying someone tried to sign up with it. Both pay the policy check, the
   * limits and one Argon2id hash before the table is looked at (as sign-up always does).
   */
  async signUpWithVerification(input: { email: string; password: string; ip: string | null }): Promise<void> {
    const o = this.service.o
    this.service.refuseIfBusy()
    const now = o.now()
    const email = normalizeEmail(input.email)
    const password = await enforcePasswordPolicy(input.password, { ...o.passwordPolicy, email })
    if (o.rateLimit) {
      await this.#limit(`ip:${input.ip ?? 'unknown'}`, o.rateLimit.perIp, now)
      await this.#limit(`signup:${email}`, o.rateLimit.perAccount, now)
    }
    const passwordHash = await o.passwords.hash(password).catch(busy)
    await o.db.transaction().execute(async (trx) => {
      const user = await insertUser(trx, { email, passwordHash, now })
      if (user) {
        await audit(trx, { type: 'sign_up', userId: user.id, ip: input.ip, detail: { verificationRequired: true }, now })
        await this.queueVerification(trx, { id: user.id, email }, input.ip, now)
        return
      }
      const existing = await trx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()
      await enqueueMail(trx, email, signUpAttemptMail({ appName: this.appName }), now)
      await audit(trx, { type: 'sign_up_existing', userId: existing?.id ?? null, ip: input.ip, now })
    })
    this.outbox.wake()
  }

  /** POST /auth/verify-email/request without a session: `{email}`; the same answer whatever the address. */
  async requestVerificationByEmail(input: { email: string; ip: string | null }): Promise<void> {
    const o = this.service.o
    const now = o.now()
    const email = normalizeEmail(input.email)
    const perIp = this.#perIp()
    if (perIp) await this.#limit(`verify-request-ip:${input.ip ?? 'unknown'}`, perIp, now)
    await this.#limit(`verify-request-email:${email}`, REQUESTS_PER_ADDRESS, now)
    const queued = await o.db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select(['id', 'email', 'email_verified']).where('email', '=', email).forUpdate().executeTakeFirst()
      if (!user || user.email_verified) return false
      await this.queueVerification(trx, user, input.ip, now)
      return true
    })
    if (queued) this.outbox.wake()
  }

  /** POST /auth/verify-email without a session: `{email, code}` (before the first sign-in when verification is required). */
  async verifyEmailByAddress(input: { email: string; code: string; ip: string | null }): Promise<void> {
    const o = this.service.o
    const now = o.now()
    const email = normalizeEmail(input.email)
    const perIp = this.#perIp()
    if (perIp) await this.#limit(`verify-ip:${input.ip ?? 'unknown'}`, perIp, now)
    const ok = await o.db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select(['id', 'email_verified']).where('email', '=', email).forUpdate().executeTakeFirst()
      if (!user || user.email_verified) return false
      if (!(await consumeCode(trx, this.#mac, { userId: user.id, purpose: 'verify_email', code: input.code, now }))) return false
      await trx.updateTable('users').set({ email_verified: true }).where('id', '=', user.id).execute()
      await audit(trx, { type: 'email_verified', userId: user.id, ip: input.ip, now })
      return user.id
    })
    if (!ok) throw invalidCode()
    o.revocations.usersChanged([ok]) // this process's /me at once (feed/user-facts.ts)
  }
}
