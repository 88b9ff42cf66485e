import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

export interface RateRule {
  /** Attempts allowed per window. */
  max: number
  windowSeconds: number
}

export interface RateCount {
  /** Weighted hits over the last window (sliding-window estimate), this hit included for `hitRateLimit`. */
  count: number
  /** Seconds until one more attempt would be within the limit (at least 1). */
  retryAfter: number
}

/**
 * Sliding-window counters kept in the database, so a limit holds across every server process
 * (OWASP Authentication Cheat Sheet, "Protect against automated attacks"; ASVS V2.2.1).
 *
 * A key counts hits in fixed windows of `windowSeconds` that start at its first hit, and keeps
 * the previous window's count; the estimate over the last `windowSeconds` is
 * `prev × (share of the previous window still inside it) + current`. Unlike a plain fixed window
 * it does not let twice the limit through around a window boundary. One upsert per hit: its SET
 * expressions all read the row as it was, so concurrent hits from many processes never lose one.
 */
export async function hitRateLimit(db: Kysely<Database>, key: string, rule: RateRule, now: Date): Promise<RateHit> {
  const oneAgo = new Date(now.getTime() - rule.windowSeconds * 1000)
  const twoAgo = new Date(now.getTime() - 2 * rule.windowSeconds * 1000)
  const rolled = sql<boolean>`rate_limits.window_start <= ${oneAgo}`
  const stale = sql<boolean>`rate_limits.window_start <= ${twoAgo}`
  const row = await db
    .insertInto('rate_limits')
    .values({ key, window_start: now, count: 1 })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        prev_count: sql<number>`case when ${stale} then 0 when ${rolled} then rate_limits.count else rate_limits.prev_count end`,
        count: sql<number>`case when ${rolled} then 1 else rate_limits.count + 1 end`,
        window_start: sql<Date>`case when ${stale} then ${now}::timestamptz when ${rolled} then rate_limits.window_start + make_interval(secs => ${rule.windowSeconds}) else rate_limits.window_start end`,
      }),
    )
    .returning(['count', 'prev_count', 'window_start'])
    .executeTakeFirstOrThrow()
  return {
    ...estimate(row.prev_count, row.count, row.window_start, rule, now),
    key,
    windowStart: row.window_start,
    withoutThisHit: estimate(row.prev_count, row.count - 1, row.window_start, rule, now),
  }
}

/** A counted hit: enough to give it back, and the estimate as it would be without it. */
export interface RateHit extends RateCount {
  key: string
  /** The row's window when the hit was counted. */
  windowStart: Date
  withoutThisHit: RateCount
}

/**
 * Gives a hit back: an attempt counted before its outcome was known that turned out not to be one
 * the limit is about (a sign-in that succeeded, or one refused before it was tried). If the window
 * has rolled since, the hit is taken off the previous window's count; two windows on, it has
 * faded out anyway.
 */
export async function releaseRateLimit(db: Kysely<Database>, hit: Pick<RateHit, 'key' | 'windowStart'>, rule: RateRule): Promise<void> {
  const rolled = new Date(hit.windowStart.getTime() + rule.windowSeconds * 1000)
  await db
    .updateTable('rate_limits')
    .set({
      count: sql<number>`case when rate_limits.window_start = ${hit.windowStart}::timestamptz then greatest(rate_limits.count - 1, 0) else rate_limits.count end`,
      prev_count: sql<number>`case when rate_limits.window_start = ${rolled}::timestamptz then greatest(rate_limits.prev_count - 1, 0) else rate_limits.prev_count end`,
    })
    .where('key', '=', hit.key)
    .execute()
}

/**
 * True for the first call per `key` in a window of `rule.windowSeconds` (from that call), false
 * for the others until it has passed; one conditional upsert, so it holds across processes.
 * Used to write one audit row per limited key per window, not one per refused request.
 */
export async function firstInWindow(db: Kysely<Database>, key: string, rule: RateRule, now: Date): Promise<boolean> {
  const oneAgo = new Date(now.getTime() - rule.windowSeconds * 1000)
  const row = await db
    .insertInto('rate_limits')
    .values({ key, window_start: now, count: 1 })
    .onConflict((oc) => oc.column('key').doUpdateSet({ window_start: now, count: 1, prev_count: 0 }).where(sql<boolean>`rate_limits.window_start <= ${oneAgo}`))
    .returning('key')
    .executeTakeFirst()
  return row !== undefined
}

/** The current estimate without adding a hit (0 when the key has been quiet for two windows). */
export async function peekRateLimit(db: Kysely<Database>, key: string, rule: RateRule, now: Date): Promise<RateCount> {
  const row = await db.selectFrom('rate_limits').select(['count', 'prev_count', 'window_start']).where('key', '=', key).executeTakeFirst()
  if (!row) return { count: 0, retryAfter: 0 }
  const w = rule.windowSeconds * 1000
  const elapsed = now.getTime() - row.window_start.getTime()
  // Read the row as the next hit would roll it.
  if (elapsed >= 2 * w) return { count: 0, retryAfter: 0 }
  if (elapsed >= w) return estimate(row.count, 0, new Date(row.window_start.getTime() + w), rule, now)
  return estimate(row.prev_count, row.count, row.window_start, rule, now)
}

/** The sliding estimate at `now`, and how long until it leaves room for one more hit. */
export function estimate(prev: number, current: number, windowStart: Date, rule: RateRule, now: Date): RateCount {
  const w = rule.windowSeconds * 1000
  const into = Math.min(1, Math.max(0, (now.getTime() - windowStart.getTime()) / w))
  const count = prev * (1 - into) + current
  return { count, retryAfter: Math.max(1, Math.ceil(waitMs(prev, current, windowStart.getTime(), w, rule.max - 1, now.getTime()) / 1000)) }
}

/** Milliseconds until `prev × (1 − into) + current ≤ room`, assuming no other hits meanwhile. */
function waitMs(prev: number, current: number, start: number, w: number, room: number, now: number): number {
  // Still in this window: the previous window's share fades linearly.
  if (current <= room) {
    if (prev <= 0) return 0
    const at = start + w * (1 - (room - current) / prev)
    if (at < start + w) return Math.max(0, at - now)
  }
  // After the roll this window becomes the previous one (and the next holds nothing yet).
  if (current <= 0) return Math.max(0, start + w - now)
  const at = start + w + w * Math.max(0, 1 - room / current)
  return Math.max(0, at - now)
}
