import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { openDatabase, type DatabaseHandle } from '../db/connect.js'
import { migrate } from '../db/migrations.js'
import { testBackends, type TestDatabase } from '../test-support/databases.js'
import { estimate, firstInWindow, hitRateLimit, peekRateLimit, releaseRateLimit, type RateRule } from './rate-limit.js'

const RULE: RateRule = { max: 10, windowSeconds: 60 }
const T0 = Date.parse('2026-11-23T10:00:00Z')
const at = (seconds: number) => new Date(T0 + seconds * 1000)

describe('estimate (sliding window)', () => {
  test('the previous window fades linearly; the wait leaves room for exactly one more hit', () => {
    expect(estimate(10, 0, at(0), RULE, at(0)).count).toBe(10)
    expect(estimate(10, 0, at(0), RULE, at(30)).count).toBe(5)
    expect(estimate(10, 4, at(0), RULE, at(45)).count).toBe(6.5)
    // 10 + 0 now, room for 9: the previous share must fall to 9 → 6 s in.
    const r = estimate(10, 0, at(0), RULE, at(0))
    expect(r.retryAfter).toBe(6)
    expect(estimate(10, 0, at(0), RULE, at(r.retryAfter)).count).toBeLessThanOrEqual(RULE.max - 1)
    // Current window full: wait for the roll, then for its own share to fade.
    const full = estimate(0, 12, at(0), RULE, at(10))
    expect(full.retryAfter).toBe(50 + 15) // 12 × (1 − f) ≤ 9 → f = 0.25 of the next window
  })
})

describe.each(testBackends())('rate limits on $name', (backend) => {
  let tdb: TestDatabase
  let h: DatabaseHandle
  beforeAll(async () => {
    tdb = await backend.create()
    h = await openDatabase(tdb)
    await migrate(h.db)
  })
  afterAll(async () => {
    await h?.close()
    await tdb?.cleanup()
  })

  /** Hits `n` times at `t`; returns how many were within the limit. */
  const burst = async (key: string, n: number, t: number) => {
    let allowed = 0
    for (let i = 0; i < n; i++) if ((await hitRateLimit(h.db, key, RULE, at(t))).count <= RULE.max) allowed++
    return allowed
  }

  test('a burst on each side of a window boundary gets the limit once, not twice (a fixed window would allow 20)', async () => {
    expect(await burst('edge', 10, 0)).toBe(10) // the window starts at the first hit
    expect(await burst('edge', 10, 59)).toBe(0)
    expect(await burst('edge', 10, 61)).toBe(0) // just after the roll, the previous window still counts
  })

  test('the previous window fades: hits come back gradually, and in full after two quiet windows', async () => {
    expect(await burst('fade', 10, 0)).toBe(10)
    // 30 s into the next window half of the 10 still weighs: about 5 more fit.
    expect(await burst('fade', 10, 90)).toBe(5)
    expect((await peekRateLimit(h.db, 'fade', RULE, at(90))).count).toBeGreaterThan(RULE.max)
    expect((await peekRateLimit(h.db, 'fade', RULE, at(200))).count).toBe(0)
    expect(await burst('fade', 10, 200)).toBe(10)
  })

  test('Retry-After is honest: waiting that long lets the next attempt through', async () => {
    expect(await burst('wait', 11, 0)).toBe(10)
    const blocked = await hitRateLimit(h.db, 'wait', RULE, at(5))
    expect(blocked.count).toBeGreaterThan(RULE.max)
    const peek = await peekRateLimit(h.db, 'wait', RULE, at(5))
    expect(peek.retryAfter).toBeGreaterThan(55)
    expect((await peekRateLimit(h.db, 'wait', RULE, at(5 + peek.retryAfter))).count).toBeLessThanOrEqual(RULE.max - 1)
    expect((await hitRateLimit(h.db, 'wait', RULE, at(5 + peek.retryAfter))).count).toBeLessThanOrEqual(RULE.max)
  })

  test('200 concurrent hits on one key are all counted (one upsert each, no lost update)', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, () => hitRateLimit(h.db, 'concurrent', { max: 1000, windowSeconds: 60 }, at(0))))
    expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
  })

  test('a hit given back no longer counts, in its window and after the roll; never below zero', async () => {
    const hits = []
    for (let i = 0; i < 4; i++) hits.push(await hitRateLimit(h.db, 'give', RULE, at(0)))
    await releaseRateLimit(h.db, hits[3]!, RULE)
    expect((await peekRateLimit(h.db, 'give', RULE, at(1))).count).toBe(3)
    expect(hits[3]!.withoutThisHit.count).toBe(3)
    // The window rolls with the next hit; a hit from the old window comes off the previous count.
    await hitRateLimit(h.db, 'give', RULE, at(60))
    await releaseRateLimit(h.db, hits[2]!, RULE)
    expect((await peekRateLimit(h.db, 'give', RULE, at(60))).count).toBe(2 + 1)
    for (let i = 0; i < 5; i++) await releaseRateLimit(h.db, hits[0]!, RULE)
    expect((await peekRateLimit(h.db, 'give', RULE, at(60))).count).toBe(1)
  })

  test('firstInWindow: one true per key per window, however many processes ask at once', async () => {
    const first = await Promise.all(Array.from({ length: 50 }, () => firstInWindow(h.db, 'once', RULE, at(0))))
    expect(first.filter(Boolean)).toHaveLength(1)
    expect(await firstInWindow(h.db, 'once', RULE, at(59))).toBe(false)
    expect(await firstInWindow(h.db, 'once', RULE, at(60))).toBe(true)
    expect(await firstInWindow(h.db, 'once', RULE, at(61))).toBe(false)
  })
})
