import { describe, expect, it } from 'vitest'
import { BoundedMap } from './bounded-map.js'

describe('BoundedMap: the per-process caches cannot grow with traffic', () => {
  it('holds at most max entries, dropping the one set longest ago; re-setting or touching moves an entry last', () => {
    const m = new BoundedMap<string, number>(3)
    for (const [k, v] of [['a', 1], ['b', 2], ['c', 3]] as const) m.set(k, v)
    m.set('a', 10) // a is now the newest
    expect(m.touch('b')).toBe(2) // b after a
    m.set('d', 4) // drops c, the oldest
    expect([m.get('a'), m.get('b'), m.get('c'), m.get('d'), m.size]).toEqual([10, 2, undefined, 4, 3])
    for (let i = 0; i < 1000; i++) m.set(`k${i}`, i)
    expect(m.size).toBe(3)
    m.delete('k999')
    expect(m.get('k999')).toBeUndefined()
  })

  it('max 0 keeps nothing', () => {
    const m = new BoundedMap<string, number>(0)
    m.set('a', 1)
    expect([m.get('a'), m.size]).toEqual([undefined, 0])
  })
})
