import { describe, expect, it } from 'vitest'
import { createFakeSecureStore, type FakeSecureStore } from '../test-support/fake-secure-store.js'
import { textOfBytes } from '../test-support/values.js'
import { createSecureStoreStorage } from './secure-store-storage.js'

/*
 * For every k, the k-th native call of a write (or remove) crashes: that call fails (with or
 * without its effect landing) and nothing after it runs. After a "restart" the key must hold the
 * old or the new value exactly, and after the next successful write the store must hold exactly
 * that value's items: no orphaned pieces, no journal.
 */

const KEY = 'latchkey.session'
const small = (s: string) => `small-${s}`
const large = (bytes: number, seed: string) => textOfBytes(bytes, seed)

const scenarios: Array<[string, string | null, string | null]> = [
  ['absent → small', null, small('new')],
  ['absent → large', null, large(7000, 'n')],
  ['small → small', small('old'), small('new')],
  ['small → large (grow)', small('old'), large(7000, 'n')],
  ['large → small (shrink)', large(9000, 'o'), small('new')],
  ['large → larger (more pieces)', large(4500, 'o'), large(11000, 'n')],
  ['large → smaller (fewer pieces)', large(11000, 'o'), large(4500, 'n')],
  ['large → large (same piece count)', large(6000, 'o'), large(6000, 'n')],
  ['small → removed', small('old'), null],
  ['large → removed', large(9000, 'o'), null],
]

const open = (fake: FakeSecureStore, seed = 0.5) => {
  let r = seed
  // Deterministic generation names that still differ between writes.
  const random = () => (r = (r * 9301 + 49297) % 233280 / 233280)
  return createSecureStoreStorage({ secureStore: fake.module, random })
}

/** Exactly the items one value needs: the commit record, and its pieces if it is chunked. */
function expectOnlyItemsOf(fake: FakeSecureStore, value: string | null) {
  const keys = fake.keys()
  if (value === null) return expect(keys).toEqual([])
  const head = fake.peek(KEY)!
  if (head.startsWith('lk1#')) {
    const { g, n } = JSON.parse(head.slice(4)) as { g: string; n: number }
    const pieces = Array.from({ length: n }, (_, i) => `${KEY}.lk-c.${g}.${i}`)
    expect(keys).toEqual([KEY, ...pieces].sort())
  } else {
    expect(keys).toEqual([KEY])
  }
}

const apply = (storage: ReturnType<typeof open>, value: string | null) =>
  value === null ? storage.removeItem(KEY) : storage.setItem(KEY, value)

describe('atomic writes: a crash at any native call leaves old or new, and no orphans after the next write', () => {
  for (const [name, before, after] of scenarios) {
    it(name, async () => {
      // How many native calls a clean write takes.
      const probe = createFakeSecureStore({ maxValueBytes: 2048 })
      if (before !== null) await open(probe).setItem(KEY, before)
      probe.clearCalls()
      await apply(open(probe, 0.7), after)
      const total = probe.calls.length
      expect(total).toBeGreaterThan(0)

      let crashes = 0
      for (let k = 1; k <= total; k++) {
        for (const applied of [false, true]) {
          for (const next of [small('next'), large(5000, 'x'), null]) {
            const fake = createFakeSecureStore({ maxValueBytes: 2048 })
            if (before !== null) await open(fake).setItem(KEY, before)
            fake.crashAt(k, { applied })
            await expect(apply(open(fake, 0.7), after)).rejects.toThrow()
            expect(fake.crashed).toBe(true)
            crashes++

            fake.restart()
            const reopened = open(fake, 0.3)
            const seen = await reopened.getItem(KEY)
            expect(seen === before || seen === after, `crash at call ${k}/${total} (applied=${applied}) left a mix`).toBe(true)

            await apply(reopened, next)
            expect(await reopened.getItem(KEY)).toBe(next)
            expectOnlyItemsOf(fake, next)
          }
        }
      }
      expect(crashes).toBe(total * 6)
    })
  }

  it('a second crash before the recovery write completes is recovered by the write after it', async () => {
    const fake = createFakeSecureStore({ maxValueBytes: 2048 })
    await open(fake).setItem(KEY, large(9000, 'a'))
    fake.crashAt(5)
    await expect(open(fake, 0.2).setItem(KEY, large(12000, 'b'))).rejects.toThrow()
    fake.restart()
    fake.crashAt(6)
    await expect(open(fake, 0.4).setItem(KEY, large(7000, 'c'))).rejects.toThrow()
    fake.restart()
    const storage = open(fake, 0.6)
    expect([large(9000, 'a'), large(12000, 'b'), large(7000, 'c')]).toContain(await storage.getItem(KEY))
    await storage.setItem(KEY, 'done')
    expectOnlyItemsOf(fake, 'done')
  })

  it('a clean shrink leaves no pieces behind', async () => {
    const fake = createFakeSecureStore({ maxValueBytes: 2048 })
    const storage = open(fake)
    await storage.setItem(KEY, large(20000, 'a'))
    await storage.setItem(KEY, large(3000, 'b'))
    expectOnlyItemsOf(fake, large(3000, 'b'))
    await storage.setItem(KEY, 'tiny')
    expectOnlyItemsOf(fake, 'tiny')
  })
})
