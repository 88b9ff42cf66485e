import type { Kysely } from 'kysely'
import type { Database, SessionRow } from '../db/schema.js'
import { liveSession, type Lifetimes } from './sessions.js'
import { randomUUID } from 'node:crypto'

// Every query on the users table. Emails arrive normalized (service.ts normalizeEmail).

/** Creates an account; undefined when the email is taken (no error, no second row: one statement). */
export async function insertUser(db: Kysely<Database>, input: { email: string; passwordHash: string | null; now: Date }): Promise<{ id: string } | undefined> {
  return db
    .insertInto('users')
    .values({ id: randomUUID(), email: input.email, password_hash: input.passwordHash, created_at: input.now })
    .onConflict((oc) => oc.column('email').doNothing())
    .returning('id')
    .executeTakeFirst()
}

/** What sign-in needs of an account. */
export async function findCredentials(db: Kysely<Database>, email: string): Promise<{ id: string; password_hash: string | null } | undefined> {
  return db.selectFrom('users').select(['id', 'password_hash']).where('email', '=', email).executeTakeFirst()
}

export async function findUserIdByEmail(db: Kysely<Database>, email: string): Promise<string | undefined> {
  return (await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst())?.id
}

export async function findAccount(db: Kysely<Database>, id: string): Promise<{ id: string; email: string } | undefined> {
  return db.selectFrom('users').select(['id', 'email']).where('id', '=', id).executeTakeFirst()
}

/** The account behind a live session (`liveSession`) of that user, in one joined read. */
export async function findAccountOfLiveSession(
  db: Kysely<Database>,
  input: { sessionId: string; userId: string; life: Lifetimes; now: Date },
): Promise<{ id: string; email: string } | undefined> {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['users.id', 'users.email'])
    .where('sessions.id', '=', input.sessionId)
    .where('sessions.user_id', '=', input.userId)
    .where(liveSession(input.life, input.now))
    .executeTakeFirst()
}

/** A session row whose user still exists (no liveness condition: the caller decides, see feed/live-session.ts). */
export async function findSessionOfUser(
  db: Kysely<Database>,
  sessionId: string,
): Promise<Pick<SessionRow, 'user_id' | 'created_at' | 'last_used_at' | 'revoked_at'> | undefined> {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.user_id', 'sessions.created_at', 'sessions.last_used_at', 'sessions.revoked_at'])
    .where('sessions.id', '=', sessionId)
    .executeTakeFirst()
}
