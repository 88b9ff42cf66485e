import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, type Transaction } from 'kysely'
import type { Database, SessionRow } from '../db/schema.js'
import { preparedStatement } from '../db/prepared.js'
import { newSessionId, newSessionSecret } from '../crypto/refresh-token.js'

export interface Lifetimes {
  /** Seconds a session may stay unused. */
  idle: number
  /** Seconds a session may live at all. */
  max: number
}

/** `dpopJkt`: the session is bound to that DPoP key (RFC 9449 §5, RFC 7638 thumbprint). */
export async function createSession(db: Kysely<Database>, input: { userId: string; device: string | null; now: Date; dpopJkt?: string | undefined }): Promise<SessionRow> {
  return db
    .insertInto('sessions')
    .values({
      id: newSessionId(),
      user_id: input.userId,
      counter: 0,
      secret: newSessionSecret(),
      device: input.device,
      created_at: input.now,
      last_used_at: input.now,
      rotated_at: null,
      revoked_at: null,
      revoke_reason: null,
      dpop_jkt: input.dpopJkt ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** Every column of `sessions`, named (a prepared statement must not say `*`: db/prepared.ts). */
const SESSION_COLUMNS = 'id, user_id, counter, secret, device, created_at, last_used_at, rotated_at, revoked_at, revoke_reason, dpop_jkt'

const selectSession = preparedStatement<SessionRow>('select_session', `select ${SESSION_COLUMNS} from sessions where id = $1`)

export async function getSession(db: Kysely<Database>, id: string): Promise<SessionRow | undefined> {
  return (await selectSession.rows(db, [id]))[0]
}

/**
 * "The session is live": not revoked, used within its idle lifetime, created within its absolute
 * lifetime. The one definition, in two forms: `isLive` for a row already read, `liveSession` for
 * a query's WHERE; both bound the row by `liveSince`.
 */
function liveSince(life: Lifetimes, now: Date) {
  return { lastUsedAfter: new Date(now.getTime() - life.idle * 1000), createdAfter: new Date(now.getTime() - life.max * 1000) }
}

export function isLive(s: Pick<SessionRow, 'revoked_at' | 'last_used_at' | 'created_at'>, life: Lifetimes, now: Date): boolean {
  const since = liveSince(life, now)
  return s.revoked_at === null && s.last_used_at > since.lastUsedAfter && s.created_at > since.createdAfter
}

/** `isLive` as a WHERE condition on `sessions` (also inside a join). */
export function liveSession(life: Lifetimes, now: Date) {
  const since = liveSince(life, now)
  return (eb: ExpressionBuilder<Database, 'sessions'>): Expression<SqlBool> =>
    eb.and([eb('sessions.revoked_at', 'is', null), eb('sessions.last_used_at', '>', since.lastUsedAfter), eb('sessions.created_at', '>', since.createdAfter)])
}

/**
 * Rotation as ONE conditional UPDATE (compare-and-set on the counter): it succeeds only for the
 * current counter of a live session. Two requests (or two processes) presenting the same token
 * cannot both succeed: PostgreSQL re-checks the WHERE clause on the row version the first one
 * committed, so the second matches nothing. Returns the updated row, or undefined.
 *
 * The `refresh` audit event of a rotation is inserted by the same statement (a data-modifying
 * CTE: `WITH rotated AS (UPDATE … RETURNING …) INSERT INTO audit_events … SELECT … FROM rotated`),
 * so a refresh costs one round trip here instead of two, and a rotation cannot be committed
 * without its audit row. The INSERT sees only what the UPDATE returned: no rotation, no row. The
 * same statement reads the new access token's facts (roles, `email_verified`). It is prepared
 * (db/prepared.ts); its parameters:
 * $1 id, $2 counter, $3 now, $4 idle limit, $5 absolute limit (`liveSession` as values), $6 the
 * proof's key thumbprint or null (a bound session rotates only with a proof by its key; with null
 * `dpop_jkt = $6` is never true), $7 ip.
 */
const rotateStatement = preparedStatement<SessionRow & { roles: unknown; email_verified: unknown }>(
  'rotate_session',
  `with rotated as (
  update sessions set counter = counter + 1, rotated_at = $3, last_used_at = $3
  where id = $1 and counter = $2
    and revoked_at is null and last_used_at > $4 and created_at > $5
    and (dpop_jkt is null or dpop_jkt = $6::text)
  returning ${SESSION_COLUMNS}
), audited as (
  insert into audit_events (type, user_id, session_id, ip, detail, created_at)
  select 'refresh', rotated.user_id, rotated.id, $7::text, '{"counter":' || rotated.counter || '}', $3::timestamptz from rotated
  returning audit_events.id
)
select ${SESSION_COLUMNS.split(', ').map((c) => `rotated.${c}`).join(', ')},
  coalesce((select json_agg(r.role order by r.role) from user_roles r where r.user_id = rotated.user_id), '[]'::json) as roles,
  (select u.email_verified from users u where u.id = rotated.user_id) as email_verified
from rotated`,
)

export async function rotateSession(
  db: Kysely<Database>,
  input: { id: string; counter: number; now: Date; life: Lifetimes; ip: string | null; proofJkt?: string | undefined },
): Promise<(SessionRow & { roles: unknown; email_verified: unknown }) | undefined> {
  const since = liveSince(input.life, input.now)
  const rows = await rotateStatement.rows(db, [input.id, input.counter, input.now, since.lastUsedAfter, since.createdAfter, input.proofJkt ?? null, input.ip])
  return rows[0]
}

/**
 * Marks a live session used now, if it is still at `counter` (a DPoP-bound session's grace answer:
 * the device proved its key, so the session is in use; and an access token issued now must not
 * outlive what the session check infers from its `iat`, feed/live-session.ts). Returns the row.
 */
export async function touchSession(db: Kysely<Database>, input: { id: string; counter: number; now: Date; life: Lifetimes }): Promise<SessionRow | undefined> {
  const since = liveSince(input.life, input.now)
  return (await touchStatement.rows(db, [input.id, input.counter, input.now, since.lastUsedAfter, since.createdAfter]))[0]
}

const touchStatement = preparedStatement<SessionRow>(
  'touch_session',
  `update sessions set last_used_at = $3
  where id = $1 and counter = $2 and revoked_at is null and last_used_at > $4 and created_at > $5
  returning ${SESSION_COLUMNS}`,
)

/** Revokes one session (no-op when already revoked). Returns true when this call revoked it. */
export async function revokeSession(db: Kysely<Database>, id: string, reason: string, now: Date): Promise<boolean> {
  const r = await db.updateTable('sessions').set({ revoked_at: now, revoke_reason: reason }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()
  return r.numUpdatedRows > 0n
}

/** Revokes the user's sessions, except `exceptId` when given. Returns the ids revoked. */
/**
 * Runs `fn` in a transaction holding the row lock of session `id`, if that session is live and
 * belongs to `userId`; otherwise returns undefined without running it. A revocation of that
 * session (sign-out, reuse detection) committed first is seen; one that comes later waits for
 * this transaction: a session cannot be used to end others after it has itself ended.
 */
export async function whileSessionLive<T>(
  db: Kysely<Database>,
  input: { id: string; userId: string; life: Lifetimes; now: Date },
  fn: (trx: Transaction<Database>) => Promise<T>,
): Promise<{ value: T } | undefined> {
  return db.transaction().execute(async (trx) => {
    // The account's row first (FOR NO KEY UPDATE: sign-ins, which insert sessions, are not held up):
    // every transaction that ends several of an account's sessions (here, a password change, a
    // deletion) queues on it, so none holds one session while waiting for another's (a deadlock:
    // PostgreSQL aborts one of them, a 500).
    await trx.selectFrom('users').select('id').where('id', '=', input.userId).forNoKeyUpdate().execute()
    const own = await trx.selectFrom('sessions').selectAll().where('id', '=', input.id).forUpdate().executeTakeFirst()
    if (!own || own.user_id !== input.userId || !isLive(own, input.life, input.now)) return undefined
    return { value: await fn(trx) }
  })
}

export async function revokeUserSessions(db: Kysely<Database>, userId: string, reason: string, now: Date, exceptId?: string): Promise<string[]> {
  let q = db.updateTable('sessions').set({ revoked_at: now, revoke_reason: reason }).where('user_id', '=', userId).where('revoked_at', 'is', null)
  if (exceptId) q = q.where('id', '!=', exceptId)
  return (await q.returning('id').execute()).map((r) => r.id)
}

export async function listLiveSessions(db: Kysely<Database>, userId: string, life: Lifetimes, now: Date): Promise<SessionRow[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where(liveSession(life, now))
    .orderBy('last_used_at', 'desc')
    .execute()
}
