import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

/**
 * PostgreSQL NOTIFY channel on which the ids of sessions that just ended are announced (the
 * revocation feed, feed/revocation-feed.ts). Sent inside the revoking transaction, so it is
 * delivered to every listening process when, and only if, the revocation commits.
 */
export const SESSIONS_ENDED_CHANNEL = 'latchkey_sessions_ended'

/** Session ids per notification: 22-character ids, space-separated, well under PostgreSQL's 8000-byte payload limit. */
const IDS_PER_NOTIFICATION = 256

/** Announces `ids` on SESSIONS_ENDED_CHANNEL (in chunks); call it inside the revoking transaction. */
export async function notifySessionsEnded(db: Kysely<Database>, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += IDS_PER_NOTIFICATION) {
    await sql`select pg_notify(${SESSIONS_ENDED_CHANNEL}, ${ids.slice(i, i + IDS_PER_NOTIFICATION).join(' ')})`.execute(db)
  }
}

/** The ids a notification payload carries. */
export const parseSessionsEnded = (payload: string): string[] => payload.split(' ').filter((id) => id !== '')

/** Ids of the sessions revoked after `since` (a feed catching up after it (re)connected). */
export async function sessionsRevokedSince(db: Kysely<Database>, since: Date): Promise<string[]> {
  return (await db.selectFrom('sessions').select('id').where('revoked_at', '>', since).execute()).map((r) => r.id)
}
