import { describe, expect, it } from 'vitest'
import { createFakeSecureStore, type FakeSecureStore } from '../test-support/fake-secure-store.js'
import { textOfBytes } from '../test-support/values.js'
import { createSecureStoreStorage } from './secure-store-storage.js'

/*
 * The app creates more than one storage over the same secure store (the session's, the
 * migration's): they must behave as one. Interleavings are driven by a seeded schedule on
 * microtask ticks (no timers), so every seed is reproducible.
 */

const KEY = 'latchkey.session'
const SERVICE = 'app.auth'
const INTERLEAVINGS = 240

/** mulberry32: a small seeded PRNG. */
function prng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await Promise.resolve()
}

const small = (s: string) => `small-${s}`
const large = (bytes: number, seed: string) => textOfBytes(bytes, seed)

type Op = string | null // null: removeItem
interface Scenario {
  name: string
  before: string | null
  a: Op[]
  b: Op[]
}

const scenarios: Scenario[] = [
  { name: 'small', before: small('old'), a: [small('a1'), small('a2')], b: [small('b1'), small('b2')] },
  { name: 'large → larger', before: large(4500, 'o'), a: [large(9000, 'a'), large(11000, 'a')], b: [large(7000, 'b'), large(13000, 'b')] },
  { name: 'large → smaller', before: large(13000, 'o'), a: [large(9000, 'a'), large(4500, 'a')], b: [large(7000, 'b'), large(3000, 'b')] },
  { name: 'remove', before: large(9000, 'o'), a: [large(5000, 'a'), null], b: [small('b'), large(7000, 'b')] },
  { name: 'remove against remove', before: large(9000, 'o'), a: [null, large(4500, 'a'), null], b: [large(7000, 'b'), null] },
  { name: 'mixed sizes', before: null, a: [small('a'), large(11000, 'a'), large(3000, 'a')], b: [large(6000, 'b'), small('b'), large(9000, 'b')] },
]

/** The keys that exactly one stored value needs: its commit record and, if chunked, its pieces. */
function itemsOf(fake: FakeSecureStore, value: string | null, service: string): string[] {
  if (value === null) return []
  const head = fake.peek(KEY, service)
  if (head?.startsWith('lk1#')) {
    const { g, n } = JSON.parse(head.slice(4)) as { g: string; n: number }
    return [KEY, ...Array.from({ length: n }, (_, i) => `${KEY}.lk-c.${g}.${i}`)].sort()
  }
  return [KEY]
}

/** Runs one seeded interleaving; returns what went wrong (empty when nothing did). */
async function interleaving(seed: number): Promise<string[]> {
  const scenario = scenarios[seed % scenarios.length]!
  const rand = prng(seed + 1)
  const fake = createFakeSecureStore({ maxValueBytes: 2048, latency: () => Math.floor(rand() * 4), delay: ticks })
  let g = seed * 7919
  // Generation names from one seeded source shared by every instance, as Math.random is.
  const random = () => ((g = (g * 9301 + 49297) % 233280) / 233280)
  if (scenario.before !== null) await createSecureStoreStorage({ secureStore: fake.module, keychainService: SERVICE, random }).setItem(KEY, scenario.before)

  const a = createSecureStoreStorage({ secureStore: fake.module, keychainService: SERVICE, random })
  const b = createSecureStoreStorage({ secureStore: fake.module, keychainService: SERVICE, random })
  const written = new Set<string | null>([scenario.before, ...scenario.a, ...scenario.b])

  const problems: string[] = []
  const run = async (storage: typeof a, ops: Op[], who: string) => {
    const pending: Promise<unknown>[] = []
    for (const op of ops) {
      await ticks(Math.floor(rand() * 12))
      pending.push(op === null ? storage.removeItem(KEY) : storage.setItem(KEY, op))
      // A read from this instance while the other one writes: must see a whole value, never throw.
      if (rand() < 0.5) {
        pending.push(
          storage.getItem(KEY).then((seen) => {
            if (!written.has(seen)) problems.push(`${who} read a value nobody wrote`)
          }),
        )
      }
    }
    for (const r of await Promise.allSettled(pending)) {
      if (r.status === 'rejected') problems.push(`${who}: ${(r.reason as { code?: string }).code ?? String(r.reason)}`)
    }
  }
  await Promise.all([run(a, scenario.a, 'a'), run(b, scenario.b, 'b')])

  const last: Op[] = [scenario.a[scenario.a.length - 1] ?? null, scenario.b[scenario.b.length - 1] ?? null]
  let seen: string | null
  try {
    seen = await createSecureStoreStorage({ secureStore: fake.module, keychainService: SERVICE }).getItem(KEY)
  } catch (error) {
    problems.push(`final read: ${(error as { code?: string }).code ?? String(error)}`)
    return problems
  }
  if (!last.includes(seen)) problems.push('final read is not one of the values written last')
  const expected = itemsOf(fake, seen, SERVICE)
  const actual = fake.keys(SERVICE)
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    problems.push(`items left: ${actual.filter((k) => !expected.includes(k)).length} extra, ${expected.filter((k) => !actual.includes(k)).length} missing`)
  }
  return problems
}

describe('storage instances over one secure-store service behave as one', () => {
  it(`two instances writing and removing one key concurrently (${INTERLEAVINGS} seeded interleavings): a final read returns one of the last values, no orphaned pieces, no failed operation`, async () => {
    const failures: string[] = []
    const perScenario = new Map<string, number>()
    for (let seed = 0; seed < INTERLEAVINGS; seed++) {
      const problems = await interleaving(seed)
      if (problems.length > 0) {
        const name = scenarios[seed % scenarios.length]!.name
        perScenario.set(name, (perScenario.get(name) ?? 0) + 1)
        failures.push(`seed ${seed} (${name}): ${problems.join('; ')}`)
      }
    }
    expect(failures, `${failures.length}/${INTERLEAVINGS} interleavings failed ${JSON.stringify(Object.fromEntries(perScenario))}\n${failures.slice(0, 10).join('\n')}`).toEqual([])
  })

  it('the schedules really interleave the two instances (the native call traces differ between seeds)', async () => {
    // Guards the test above against a schedule that degenerated into one instance after the other.
    const traces = new Set<string>()
    for (let seed = 0; seed < 60; seed++) {
      const rand = prng(seed + 1)
      const fake = createFakeSecureStore({ maxValueBytes: 2048, latency: () => Math.floor(rand() * 4), delay: ticks })
      const a = createSecureStoreStorage({ secureStore: fake.module, keychainService: SERVICE })
      const b = createSecureStoreStorage({ secureStore: fake.module, keychainService: SERVICE })
      const ops: Promise<unknown>[] = []
      for (let i = 0; i < 4; i++) {
        await ticks(Math.floor(rand() * 12))
        ops.push((rand() < 0.5 ? a : b).setItem(KEY, rand() < 0.5 ? small(`${i}`) : large(5000, `${i}`)))
      }
      await Promise.all(ops)
      traces.add(fake.calls.map((c) => `${c.op}:${c.key.replace(/\.lk-c\.[0-9a-z]+\./, '.lk-c.*.')}`).join(' '))
    }
    expect(traces.size).toBeGreaterThan(10)
  })

  it('a pending write holds back another instance on the same service, but not one on another service or another module object', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const HOLD = 1000
    const fake = createFakeSecureStore({
      latency: (call) => (call.options.keychainService === 'held' && call.op === 'set' ? HOLD : 0),
      delay: (ms) => (ms === HOLD ? gate : Promise.resolve()),
    })
    const held = createSecureStoreStorage({ secureStore: fake.module, keychainService: 'held' })
    const sameService = createSecureStoreStorage({ secureStore: fake.module, keychainService: 'held' })
    const otherService = createSecureStoreStorage({ secureStore: fake.module, keychainService: 'free' })
    const otherModule = createFakeSecureStore()
    const sameServiceOtherModule = createSecureStoreStorage({ secureStore: otherModule.module, keychainService: 'held' })

    const order: string[] = []
    const first = held.setItem(KEY, 'first').then(() => order.push('held'))
    await ticks(20)
    const queued = sameService.getItem(KEY).then((v) => order.push(`same service read ${v}`))

    // Fails fast (rather than timing out) if these were queued behind the held write.
    const unblocked = async <T>(p: Promise<T>): Promise<T> => {
      const stuck = Symbol('stuck')
      const r = await Promise.race([p, ticks(500).then(() => stuck)])
      if (r === stuck) throw new Error('blocked behind a write on another service or module')
      return r as T
    }
    await unblocked(otherService.setItem(KEY, 'other'))
    expect(await unblocked(otherService.getItem(KEY))).toBe('other')
    await unblocked(otherService.removeItem(KEY))
    await unblocked(sameServiceOtherModule.setItem(KEY, 'elsewhere'))
    expect(await unblocked(sameServiceOtherModule.getItem(KEY))).toBe('elsewhere')
    await ticks(50)
    expect(order).toEqual([])

    release()
    await Promise.all([first, queued])
    expect(order).toEqual(['held', 'same service read first'])
  })
})

describe('invalid input rejects the returned promise', () => {
  it('an invalid key rejects getItem, setItem and removeItem with a TypeError, throws nothing synchronously, makes no native call', async () => {
    const fake = createFakeSecureStore()
    const storage = createSecureStoreStorage({ secureStore: fake.module })
    for (const key of ['', 'has space', 'slash/no', 'ü', 'a:b', undefined as unknown as string]) {
      let promises: Promise<unknown>[] = []
      expect(() => {
        promises = [storage.getItem(key), storage.setItem(key, 'x'), storage.removeItem(key)]
      }).not.toThrow()
      for (const p of promises) await expect(p).rejects.toBeInstanceOf(TypeError)
    }
    expect(fake.calls).toHaveLength(0)
  })

  it('a value that is not a string rejects setItem with a TypeError, throws nothing synchronously, makes no native call', async () => {
    const fake = createFakeSecureStore()
    const storage = createSecureStoreStorage({ secureStore: fake.module })
    let p: Promise<unknown> = Promise.resolve()
    expect(() => {
      p = storage.setItem('k', 42 as unknown as string)
    }).not.toThrow()
    await expect(p).rejects.toBeInstanceOf(TypeError)
    expect(fake.calls).toHaveLength(0)
  })
})
