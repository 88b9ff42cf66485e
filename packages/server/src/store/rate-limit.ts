import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

export interface RateRule {
  /** Attempts allowed per window. */
  max: number
  windowSeconds: number
}

/**
 * Fixed-window counters kept in the database, so a limit holds across every server process
 * (OWASP Authentication Cheat Sheet, "Protect against automated attacks"; ASVS V2.2.1).
 * One upsert per hit: increments the window's count, or starts a new window when it has passed.
 * Returns the count after this hit and the seconds until the window resets.
 */
export async function hitRateLimit(db: Kysely<Database>, key: string, rule: RateRule, now: Date): Promise<{ count: number; retryAfter: number }> {
  const windowStartMin = new Date(now.getTime() - rule.windowSeconds * 1000)
  const row = await db
    .insertInto('rate_limits')
    .values({ key, window_start: now, count: 1 })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        count: sql<number>`case when rate_limits.window_start <= ${windowStartMin} then 1 else rate_limits.count + 1 end`,
        window_start: sql<Date>`case when rate_limits.window_start <= ${windowStartMin} then ${now}::timestamptz else rate_limits.window_start end`,
      }),
    )
    .returning(['count', 'window_start'])
    .executeTakeFirstOrThrow()
  return { count: row.count, retryAfter: retryAfter(row.window_start, rule, now) }
}

/** The current count without adding a hit (0 when the window has passed). */
export async function peekRateLimit(db: Kysely<Database>, key: string, rule: RateRule, now: Date): Promise<{ count: number; retryAfter: number }> {
  const row = await db.selectFrom('rate_limits').select(['count', 'window_start']).where('key', '=', key).executeTakeFirst()
  if (!row || row.window_start.getTime() <= now.getTime() - rule.windowSeconds * 1000) return { count: 0, retryAfter: 0 }
  return { count: row.count, retryAfter: retryAfter(row.window_start, rule, now) }
}

function retryAfter(windowStart: Date, rule: RateRule, now: Date): number {
  return Math.max(1, Math.ceil((windowStart.getTime() + rule.windowSeconds * 1000 - now.getTime()) / 1000))
}
