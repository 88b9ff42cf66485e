import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

/**
 * PostgreSQL NOTIFY channel on which the ids of sessions that just ended are announced (the
 * revocation feed, feed/revocation-feed.ts): by triggers on `sessions` (migration 4) when
 * `revoked_at` is set or a session that was not revoked is deleted, so the notification belongs
 * to the ending transaction and is delivered to every listening process when, and only if, it
 * commits. Payload: session ids separated by spaces.
 */
export const SESSIONS_ENDED_CHANNEL = 'latchkey_sessions_ended'

/** The ids a notification payload carries. */
export const parseSessionsEnded = (payload: string): string[] => payload.split(' ').filter((id) => id !== '')

/** Ids of the sessions revoked after `since` (a feed catching up after it (re)connected). */
export async function sessionsRevokedSince(db: Kysely<Database>, since: Date): Promise<string[]> {
  return (await db.selectFrom('sessions').select('id').where('revoked_at', '>', since).execute()).map((r) => r.id)
}
