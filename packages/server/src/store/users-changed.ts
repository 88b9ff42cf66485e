import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

/**
 * PostgreSQL NOTIFY channel on which a user whose facts changed (email, email_verified, roles
 * granted or revoked, the user deleted) is announced, by triggers on `users` and `user_roles`
 * (migration 10) inside the changing transaction: every listening process hears it when, and only
 * if, it commits. Payload: one user id. Heard by the revocation feed (feed/revocation-feed.ts).
 */
export const USERS_CHANGED_CHANNEL = 'latchkey_users_changed'

/** What GET /me answers about a user, besides its id. */
export interface UserFactsRow {
  id: string
  email: string
  email_verified: boolean
  roles: string[]
}

/** A user's email, whether it is verified, and its roles (sorted): one statement. */
export async function readUserFacts(db: Kysely<Database>, userId: string): Promise<UserFactsRow | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['users.id', 'users.email', 'users.email_verified'])
    .select(sql<unknown>`coalesce((select json_agg(r.role order by r.role) from user_roles r where r.user_id = users.id), '[]'::json)`.as('roles'))
    .where('users.id', '=', userId)
    .executeTakeFirst()
  if (!row) return undefined
  // The pg driver parses json; PGlite too. A string is parsed here in case a driver does not.
  const roles = typeof row.roles === 'string' ? (JSON.parse(row.roles) as unknown) : row.roles
  return { id: row.id, email: row.email, email_verified: row.email_verified, roles: Array.isArray(roles) ? roles.map(String) : [] }
}
