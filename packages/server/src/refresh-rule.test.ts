import { describe, expect, test } from 'vitest'
import { decideRefresh, type RefreshFacts } from './refresh-rule.js'

// A fake clock: every instant is t0 plus the seconds given; nothing here reads the real time.
const t0 = Date.parse('2026-01-01T00:00:00.000Z')
const at = (seconds: number) => new Date(t0 + seconds * 1000)

const GRACE = 10
const life = { idle: 3600, max: 86400 }

/** A session created at 0, last rotated (to counter 5) and used at 100 s. */
const session = (over: Partial<NonNullable<RefreshFacts['session']>> = {}): NonNullable<RefreshFacts['session']> => ({
  counter: 5,
  created_at: at(0),
  last_used_at: at(100),
  rotated_at: at(100),
  revoked_at: null,
  ...over,
})

const decide = (presentedCounter: number, now: Date, ...s: [RefreshFacts['session']] | []) =>
  decideRefresh({ presentedCounter, session: s.length ? s[0] : session(), now, graceSeconds: GRACE, life })

describe('the refresh rule (RFC 6749 §6 rotation, RFC 9700 §4.14.2 reuse detection)', () => {
  test('the current counter of a live session rotates', () => {
    expect(decide(5, at(100))).toBe('rotate')
    expect(decide(5, at(100 + GRACE + 1))).toBe('rotate')
  })

  test('the previous counter gets the current pair from the rotation up to the window edge inclusive', () => {
    expect(decide(4, at(100))).toBe('grace')
    expect(decide(4, at(100 + GRACE / 2))).toBe('grace')
    expect(decide(4, at(100 + GRACE))).toBe('grace') // exactly at the edge: now − rotated_at ≤ window
  })

  test('the previous counter after the window is reuse, from the first millisecond past the edge', () => {
    expect(decide(4, at(100 + GRACE + 0.001))).toBe('reuse')
    expect(decide(4, at(100 + 1000))).toBe('reuse')
  })

  test('an older counter is reuse even inside the window', () => {
    expect(decide(3, at(100))).toBe('reuse')
    expect(decide(0, at(100 + GRACE / 2))).toBe('reuse')
  })

  test('the previous counter with no recorded rotation is reuse', () => {
    expect(decide(4, at(100), session({ rotated_at: null }))).toBe('reuse')
  })

  test('a counter ahead of the session (never issued for this row, e.g. a restored backup) is reuse', () => {
    expect(decide(6, at(100))).toBe('reuse')
  })

  test('a window of 0 s honours the previous token only at the rotation instant', () => {
    const s = session()
    expect(decideRefresh({ presentedCounter: 4, session: s, now: at(100), graceSeconds: 0, life })).toBe('grace')
    expect(decideRefresh({ presentedCounter: 4, session: s, now: at(100.001), graceSeconds: 0, life })).toBe('reuse')
  })

  test('a revoked session is dead for every counter, inside the window too', () => {
    const revoked = session({ revoked_at: at(101) })
    for (const counter of [5, 4, 3]) expect(decide(counter, at(102), revoked)).toBe('dead')
  })

  test('no session (deleted, pruned) is dead', () => {
    expect(decide(5, at(100), undefined)).toBe('dead')
  })

  test('the idle lifetime: used exactly `idle` ago is dead, a millisecond less is live', () => {
    const s = session()
    expect(decide(5, at(100 + life.idle - 0.001), s)).toBe('rotate')
    expect(decide(5, at(100 + life.idle), s)).toBe('dead')
    expect(decide(4, at(100 + life.idle), s)).toBe('dead') // dead before reuse: nothing is revoked twice
  })

  test('the absolute lifetime: created exactly `max` ago is dead however recently used', () => {
    const s = session({ last_used_at: at(life.max - 1), rotated_at: at(life.max - 1) })
    expect(decide(5, at(life.max - 0.001), s)).toBe('rotate')
    expect(decide(4, at(life.max - 0.001), s)).toBe('grace')
    expect(decide(5, at(life.max), s)).toBe('dead')
    expect(decide(4, at(life.max), s)).toBe('dead')
  })

  test('DPoP-bound session (RFC 9449): the previous token with a proof by the bound key is grace at any time; without one, unproven (never reuse)', () => {
    const bound = session({ dpop_jkt: 'K' })
    const f = (presentedCounter: number, now: Date, proofJkt?: string) => decideRefresh({ presentedCounter, session: bound, now, graceSeconds: GRACE, life, proofJkt })
    expect(f(5, at(100), 'K')).toBe('rotate')
    expect(f(4, at(100 + GRACE + 1), 'K')).toBe('grace')
    expect(f(4, at(100 + 3000), 'K')).toBe('grace')
    expect(f(3, at(100), 'K')).toBe('reuse')
    for (const proof of [undefined, 'other']) {
      expect(f(5, at(100), proof)).toBe('unproven')
      expect(f(4, at(100), proof)).toBe('unproven')
      expect(f(3, at(100), proof)).toBe('unproven')
    }
    // A dead session stays dead, whatever the proof.
    expect(decideRefresh({ presentedCounter: 5, session: { ...bound, revoked_at: at(50) }, now: at(100), graceSeconds: GRACE, life })).toBe('dead')
  })

  test('an unbound session is decided as before whether or not the request carries a proof', () => {
    expect(decideRefresh({ presentedCounter: 4, session: session(), now: at(100 + GRACE + 1), graceSeconds: GRACE, life, proofJkt: 'K' })).toBe('reuse')
    expect(decideRefresh({ presentedCounter: 5, session: session(), now: at(100), graceSeconds: GRACE, life, proofJkt: 'K' })).toBe('rotate')
  })
})
