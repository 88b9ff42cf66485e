import type { Kysely } from 'kysely'
import type { Database, SessionRow } from '../db/schema.js'
import { newSessionId, newSessionSecret } from '../crypto/refresh-token.js'

export interface Lifetimes {
  /** Seconds a session may stay unused. */
  idle: number
  /** Seconds a session may live at all. */
  max: number
}

export async function createSession(db: Kysely<Database>, input: { userId: string; device: string | null; now: Date }): Promise<SessionRow> {
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
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function getSession(db: Kysely<Database>, id: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst()
}

/** True when the session is not revoked and within its idle and absolute lifetimes. */
export function isLive(s: SessionRow, life: Lifetimes, now: Date): boolean {
  return s.revoked_at === null && s.last_used_at.getTime() > now.getTime() - life.idle * 1000 && s.created_at.getTime() > now.getTime() - life.max * 1000
}

/**
 * Rotation as ONE conditional UPDATE (compare-and-set on the counter): it succeeds only for the
 * current counter of a live session. Two requests (or two processes) presenting the same token
 * cannot both succeed: PostgreSQL re-checks the WHERE clause on the row version the first one
 * committed, so the second matches nothing. Returns the updated row, or undefined.
 */
export async function rotateSession(db: Kysely<Database>, input: { id: string; counter: number; now: Date; life: Lifetimes }): Promise<SessionRow | undefined> {
  const { now, life } = input
  return db
    .updateTable('sessions')
    .set((eb) => ({ counter: eb('counter', '+', 1), rotated_at: now, last_used_at: now }))
    .where('id', '=', input.id)
    .where('counter', '=', input.counter)
    .where('revoked_at', 'is', null)
    .where('last_used_at', '>', new Date(now.getTime() - life.idle * 1000))
    .where('created_at', '>', new Date(now.getTime() - life.max * 1000))
    .returningAll()
    .executeTakeFirst()
}

/** Revokes one session (no-op when already revoked). Returns true when this call revoked it. */
export async function revokeSession(db: Kysely<Database>, id: string, reason: string, now: Date): Promise<boolean> {
  const r = await db.updateTable('sessions').set({ revoked_at: now, revoke_reason: reason }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()
  return r.numUpdatedRows > 0n
}

/** Revokes the user's sessions, except `exceptId` when given. Returns the ids revoked. */
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
    .where('revoked_at', 'is', null)
    .where('last_used_at', '>', new Date(now.getTime() - life.idle * 1000))
    .where('created_at', '>', new Date(now.getTime() - life.max * 1000))
    .orderBy('last_used_at', 'desc')
    .execute()
}
