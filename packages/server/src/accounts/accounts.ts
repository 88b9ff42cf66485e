import { randomUUID } from 'node:crypto'
import type { Transaction } from 'kysely'
import type { Database } from '../db/schema.js'
import { HttpError } from '../http/errors.js'
import { busy, sessionEnded, type AuthService, type Caller } from '../service.js'
import { audit } from '../store/audit.js'
import { revokeUserSessions } from '../store/sessions.js'
import { findAccount } from '../store/users.js'
import { enforcePasswordPolicy } from './password-policy.js'
import { deleteAccountData, replacePasswordHash, retryDeadlock, whileAccountLive } from './store.js'

/** Which sessions a password change ends: the others (default), all (this one too), or none. */
export type EndSessions = 'others' | 'all' | 'none'

export interface ChangePasswordResult {
  /** Sessions that ended. */
  signedOut: number
  /** Whether the caller's own session ended too (`all`): the client signs out locally. */
  sessionEnded: boolean
}

/** The current password was right when checked, but the account's hash changed before the write (a concurrent change). */
const passwordIncorrect = () => new HttpError(403, 'invalid_credentials', 'the password is incorrect')

/**
 * Changes the caller's password (OWASP ASVS 5.0 V6.2.2/V6.2.3: the current password is asked
 * for; V7.4.3: other sessions can be ended when the password changes, and are by default). The new
 * password must pass the policy; the current one is checked like a sign-in (same limits, same
 * counters). The hash is replaced only if it is still the one the current password was checked
 * against, in the transaction that ends the sessions; the ended sessions are announced to every
 * process (revocation feed) once it commits.
 */
export async function changePassword(
  service: AuthService,
  caller: Caller,
  input: { currentPassword: string; newPassword: string; endSessions: EndSessions; ip: string | null },
): Promise<ChangePasswordResult> {
  const o = service.o
  service.refuseIfBusy()
  const now = o.now()
  const account = await findAccount(o.db, caller.userId)
  if (!account) throw sessionEnded()
  const next = await enforcePasswordPolicy(input.newPassword, { ...o.passwordPolicy, email: account.email }, 'new_password')
  const checked = await service.checkPassword({ email: account.email, password: input.currentPassword, ip: input.ip, now, purpose: 'change_password' })
  if (checked.id !== caller.userId) throw sessionEnded()
  const hash = await o.passwords.hash(next).catch(busy)
  const done = await whileAccountLive(o.db, { userId: caller.userId, sessionId: caller.sessionId, life: o.life, now }, async (trx) => {
    if (!(await replacePasswordHash(trx, { userId: caller.userId, expected: checked.password_hash, next: hash }))) return undefined
    const except = input.endSessions === 'others' ? caller.sessionId : undefined
    const ended = input.endSessions === 'none' ? [] : await revokeUserSessions(trx, caller.userId, 'password_changed', now, except)
    await audit(trx, { type: 'password_changed', userId: caller.userId, sessionId: caller.sessionId, ip: input.ip, detail: { endSessions: input.endSessions, signedOut: ended.length }, now })
    return ended
  })
  if (!done) throw sessionEnded()
  const ended = done.value
  if (!ended) throw passwordIncorrect()
  o.revocations.ended(ended)
  for (const id of ended) await audit(o.db, { type: 'sign_out', userId: caller.userId, sessionId: id, ip: input.ip, detail: { scope: 'password_change' }, now })
  return { signedOut: ended.length, sessionEnded: ended.includes(caller.sessionId) }
}

export interface DeleteAccountResult {
  /** Sessions that were live and ended with the account. */
  signedOut: number
}

/**
 * Deletes the caller's account (App Store Review Guideline 5.1.1(v); Google Play's account
 * deletion policy). A fresh proof of ownership is required: the password, checked like a sign-in
 * (same limits and counters, so deletion is no way around them). Then, in one transaction: every
 * session revoked, the user and the personal data kept about it deleted, audit rows kept without
 * it (`deleteAccountData`), the deletion audited. The ended sessions are announced to every
 * process at once, so the account's access and refresh tokens are refused everywhere.
 */
export async function deleteAccount(service: AuthService, caller: Caller, input: { password: string; ip: string | null }): Promise<DeleteAccountResult> {
  const o = service.o
  service.refuseIfBusy()
  const now = o.now()
  const account = await findAccount(o.db, caller.userId)
  if (!account) throw sessionEnded()
  const checked = await service.checkPassword({ email: account.email, password: input.password, ip: input.ip, now, purpose: 'delete_account' })
  if (checked.id !== caller.userId) throw sessionEnded()
  const done = await whileAccountLive(o.db, { userId: caller.userId, sessionId: caller.sessionId, life: o.life, now }, (trx, user) =>
    user.password_hash === checked.password_hash ? deleteInTransaction(service, trx, user, 'app', now) : Promise.resolve(undefined),
  )
  if (!done) throw sessionEnded()
  if (!done.value) throw passwordIncorrect()
  o.revocations.ended(done.value)
  service.onAccountDeleted?.committed()
  return { signedOut: done.value.length }
}

/**
 * Deletion with the email and password and no session (the web page Google Play asks for, where
 * deletion can be requested outside the app). The same proof, limits and transaction as
 * `deleteAccount`; a wrong email and a wrong password answer alike.
 */
export async function deleteAccountWithPassword(service: AuthService, input: { email: string; password: string; ip: string | null }): Promise<DeleteAccountResult> {
  const o = service.o
  service.refuseIfBusy()
  const now = o.now()
  const checked = await service.checkPassword({ email: input.email, password: input.password, ip: input.ip, now, purpose: 'delete_account' })
  const ended = await retryDeadlock(() =>
    o.db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select(['id', 'email', 'password_hash']).where('id', '=', checked.id).forUpdate().executeTakeFirst()
      if (!user || user.password_hash !== checked.password_hash) return undefined
      return deleteInTransaction(service, trx, user, 'web', now)
    }),
  )
  if (!ended) throw new HttpError(403, 'invalid_credentials', 'the email or password is incorrect')
  o.revocations.ended(ended)
  service.onAccountDeleted?.committed()
  return { signedOut: ended.length }
}

/** The deletion itself, inside the caller's transaction (also identity/: deletion proven by an ID token). */
export async function deleteInTransaction(service: AuthService, trx: Transaction<Database>, user: { id: string; email: string }, via: 'app' | 'web' | 'id_token', now: Date): Promise<string[]> {
  const pseudonym = `deleted-${randomUUID()}`
  // Before the identities go (deleteAccountData): their provider tokens are queued for revocation.
  await service.onAccountDeleted?.inTransaction(trx, user.id, now)
  const ended = await deleteAccountData(trx, { userId: user.id, email: user.email, emailDigest: service.accountDigest(user.email), pseudonym, now })
  // The deletion itself, under the pseudonym and without the address (see deleteAccountData).
  await audit(trx, { type: 'account_deleted', userId: pseudonym, detail: { via, signedOut: ended.length }, now })
  return ended
}
