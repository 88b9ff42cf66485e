import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../db/schema.js'
import { isLive, revokeUserSessions, type Lifetimes } from '../store/sessions.js'

// Every query of the account flows (password change, deletion). Emails arrive normalised.

/**
 * Runs `fn` in a transaction holding, in this order, the row lock of the user and of the caller's
 * session, when that session is live and the user's; otherwise returns undefined without running
 * it. The user row first: two changes or deletions of one account queue on it instead of each
 * holding a session another one wants. A deadlock with another path that locks sessions (a
 * sign-out of others from a second device) is retried (`retryDeadlock`), not answered 500.
 */
export function whileAccountLive<T>(
  db: Kysely<Database>,
  input: { userId: string; sessionId: string; life: Lifetimes; now: Date },
  fn: (trx: Transaction<Database>, user: { id: string; email: string; password_hash: string | null }) => Promise<T>,
): Promise<{ value: T } | undefined> {
  return retryDeadlock(() =>
    db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select(['id', 'email', 'password_hash']).where('id', '=', input.userId).forUpdate().executeTakeFirst()
      if (!user) return undefined
      const own = await trx.selectFrom('sessions').selectAll().where('id', '=', input.sessionId).forUpdate().executeTakeFirst()
      if (!own || own.user_id !== input.userId || !isLive(own, input.life, input.now)) return undefined
      return { value: await fn(trx, user) }
    }),
  )
}

/** PostgreSQL's deadlock_detected (40P01) and serialization_failure (40001): the transaction rolled back and may simply run again. */
const RETRYABLE = new Set(['40P01', '40001'])

export async function retryDeadlock<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run()
    } catch (e) {
      const code = (e as { code?: unknown } | null)?.code
      if (i >= attempts || typeof code !== 'string' || !RETRYABLE.has(code)) throw e
    }
  }
}

/** Sets a new hash when the stored one is still `expected` (the one the current password was checked against). */
export async function replacePasswordHash(trx: Kysely<Database>, input: { userId: string; expected: string; next: string }): Promise<boolean> {
  const r = await trx.updateTable('users').set({ password_hash: input.next }).where('id', '=', input.userId).where('password_hash', '=', input.expected).executeTakeFirst()
  return r.numUpdatedRows > 0n
}

/**
 * Deletes an account and the personal data kept about it, inside the caller's transaction:
 * - every session is revoked (each one announced on the revocation feed by the trigger of
 *   migration 4 when the transaction commits), then the user row is deleted (sessions cascade);
 * - audit rows stay (OWASP Logging Cheat Sheet: security events are kept for their retention), but
 *   without personal data (GDPR Art. 5(1)(c), 17): the account's id is replaced by a pseudonym
 *   drawn for this deletion (the rows still read as one account's history, and cannot be joined
 *   to the `sub` other services stored), the session ids and client addresses are removed, and
 *   the keyed digest of the email in `rate_limited` rows written before the account existed is
 *   replaced by `deleted`;
 * - the rate-limit counters keyed by the email are deleted.
 * Returns the sessions that were live.
 */
export async function deleteAccountData(
  trx: Transaction<Database>,
  input: { userId: string; email: string; emailDigest: string; pseudonym: string; now: Date },
): Promise<string[]> {
  const ended = await revokeUserSessions(trx, input.userId, 'account_deleted', input.now)
  await trx.updateTable('audit_events').set({ user_id: input.pseudonym, session_id: null, ip: null }).where('user_id', '=', input.userId).execute()
  const needle = `"account":${JSON.stringify(input.emailDigest)}`
  await trx
    .updateTable('audit_events')
    .set({ detail: sql<string>`replace(detail, ${needle}, ${'"account":"deleted"'})`, ip: null })
    .where('user_id', 'is', null)
    .where('type', '=', 'rate_limited')
    .where(sql<boolean>`strpos(detail, ${needle}) > 0`)
    .execute()
  const keys = [`signup:${input.email}`, `account:${input.email}`]
  const perAddress = `account-ip:${JSON.stringify([input.email]).slice(0, -1)},`
  await trx
    .deleteFrom('rate_limits')
    .where((eb) =>
      eb.or([
        eb('key', 'in', [...keys, ...keys.map((k) => `audited:${k}`)]),
        eb(sql<string>`left(key, ${perAddress.length})`, '=', perAddress),
        eb(sql<string>`left(key, ${perAddress.length + 8})`, '=', `audited:${perAddress}`),
      ]),
    )
    .execute()
  // Issue 13: messages to the address (email/outbox.ts) are personal data too: the queued ones
  // (a reset code, a verification code) and the record of the sent ones. (email_codes cascade.)
  await trx.deleteFrom('email_outbox').where('to_address', '=', input.email).execute()
  await trx.deleteFrom('users').where('id', '=', input.userId).execute()
  return ended
}
