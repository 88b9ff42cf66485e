import { availableParallelism } from 'node:os'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { BusyError, createKeyedMutex, createLimiter, createPasswordHasher, defaultHashConcurrency, hashPassword, verifyPassword } from './password.js'

/** A call that runs until `open()` is called. */
function gate() {
  let open!: () => void
  const opened = new Promise<void>((r) => (open = r))
  return { open, opened }
}

describe('createLimiter', () => {
  test('1000 concurrent calls: never more than the limit at once, all settle, in arrival order', async () => {
    const limiter = createLimiter(3)
    let running = 0
    let peak = 0
    const started: number[] = []
    const calls = Array.from({ length: 1000 }, (_, i) =>
      limiter.run(async () => {
        started.push(i)
        running++
        peak = Math.max(peak, running)
        await new Promise((r) => setTimeout(r, i % 7)) // uneven durations
        running--
        if (i % 97 === 0) throw new Error(`call ${i} fails`)
        return i
      }),
    )
    // A failing call frees its slot like any other.
    const results = await Promise.allSettled(calls)
    expect(peak).toBe(3)
    expect(started).toEqual([...Array(1000).keys()])
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(11)
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value)).toHaveLength(989)
    expect(limiter.active).toBe(0)
    expect(limiter.waiting).toBe(0)
  })

  test('rejects a limit that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => createLimiter(bad)).toThrow(RangeError)
  })
})

describe('the password-hash queue has a bound', () => {
  afterEach(() => vi.useRealTimers())

  test('beyond the queue cap a call is refused at once with BusyError and a Retry-After; the queued ones still run', async () => {
    const g = gate()
    const limiter = createLimiter({ max: 1, maxQueue: 2 })
    const ran: number[] = []
    const calls = [0, 1, 2].map((i) =>
      limiter.run(async () => {
        await g.opened
        ran.push(i)
      }),
    )
    const refused = await limiter.run(async () => ran.push(3)).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(BusyError)
    expect(refused).toMatchObject({ reason: 'queue_full' })
    expect((refused as BusyError).retryAfter).toBeGreaterThanOrEqual(1)
    expect({ active: limiter.active, waiting: limiter.waiting, refused: limiter.refused }).toEqual({ active: 1, waiting: 2, refused: 1 })
    g.open()
    await Promise.all(calls)
    expect(ran).toEqual([0, 1, 2])
    expect(limiter.active).toBe(0)
  })

  test('a call that could only wait to be refused at its deadline is refused at once: admission follows the measured time per call', async () => {
    let t = 0
    const g = gate()
    const limiter = createLimiter({ max: 2, maxQueue: 1000, queueTimeoutMs: 1000, initialEstimateMs: 50, now: () => t })
    // Two slots at 50 ms a call clear 40 waiting calls within the 1 s deadline: the 41st is refused at once.
    const held = [limiter.run(() => g.opened), limiter.run(() => g.opened)]
    const queued = Array.from({ length: 40 }, () => limiter.run(async () => 'served'))
    await expect(limiter.run(async () => 'late')).rejects.toMatchObject({ name: 'BusyError', reason: 'queue_full' })
    expect({ active: limiter.active, waiting: limiter.waiting, refused: limiter.refused }).toEqual({ active: 2, waiting: 40, refused: 1 })
    g.open()
    await Promise.all([...held, ...queued])
    // Calls measured at 500 ms each (the clock moves during each call): two slots clear 4 waiting
    // calls within the deadline, so the 5th is refused at once.
    const slow = () => limiter.run(async () => void (t += 500))
    for (let i = 0; i < 60; i++) await slow()
    const g2 = gate()
    const busy = [limiter.run(() => g2.opened), limiter.run(() => g2.opened)]
    const admitted = Array.from({ length: 4 }, (_, i) => limiter.run(async () => i))
    await expect(limiter.run(async () => 'late')).rejects.toMatchObject({ name: 'BusyError', reason: 'queue_full' })
    g2.open()
    await Promise.all(busy)
    expect(await Promise.all(admitted)).toEqual([0, 1, 2, 3])
  })

  test('a call that waits past its deadline is refused (BusyError deadline) and leaves the queue; the others keep their turn', async () => {
    vi.useFakeTimers()
    const g = gate()
    const limiter = createLimiter({ max: 1, maxQueue: 10, queueTimeoutMs: 1000 })
    const first = limiter.run(() => g.opened)
    const late = limiter.run(async () => 'late').catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(999)
    expect(limiter.waiting).toBe(1)
    const next = limiter.run(async () => 'next') // queued 999 ms later: its own deadline
    await vi.advanceTimersByTimeAsync(1)
    expect(await late).toMatchObject({ name: 'BusyError', reason: 'deadline' })
    expect(limiter.waiting).toBe(1)
    g.open()
    await first
    expect(await next).toBe('next')
    expect({ active: limiter.active, waiting: limiter.waiting, refused: limiter.refused }).toEqual({ active: 0, waiting: 0, refused: 1 })
  })

  test('each app owns its hasher: two hashers do not share slots', async () => {
    const g = gate()
    const held = {
      hash: async () => 'h',
      verify: async () => {
        await g.opened
        return true
      },
    }
    const a = createPasswordHasher({ concurrency: 1, maxQueue: 0, argon2: held })
    const b = createPasswordHasher({ concurrency: 1, maxQueue: 0, argon2: held })
    const running = a.verify('h', 'p')
    await expect(a.verify('h', 'p')).rejects.toBeInstanceOf(BusyError)
    const other = b.verify('h', 'p') // b has its own free slot
    expect(b.inFlight()).toEqual({ active: 1, waiting: 0, refused: 0 })
    g.open()
    expect(await Promise.all([running, other])).toEqual([true, true])
  })
})

describe('createKeyedMutex', () => {
  test('one call at a time per key, in order; other keys run alongside; nothing kept afterwards', async () => {
    const mutex = createKeyedMutex()
    const running = new Map<string, number>()
    const peak = new Map<string, number>()
    const order: string[] = []
    const call = (key: string, i: number) =>
      mutex.run(key, async () => {
        running.set(key, (running.get(key) ?? 0) + 1)
        peak.set(key, Math.max(peak.get(key) ?? 0, running.get(key)!))
        order.push(`${key}${i}`)
        await new Promise((r) => setTimeout(r, i % 3))
        running.set(key, running.get(key)! - 1)
        if (i === 2) throw new Error('fails, and frees the key like any other')
        return i
      })
    const results = await Promise.allSettled([0, 1, 2, 3, 4].flatMap((i) => [call('a', i), call('b', i)]))
    expect(peak).toEqual(new Map([['a', 1], ['b', 1]]))
    expect(order.filter((x) => x.startsWith('a'))).toEqual(['a0', 'a1', 'a2', 'a3', 'a4'])
    expect(order.slice(0, 2).sort()).toEqual(['a0', 'b0']) // different keys do not wait for each other
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(2)
    expect(mutex.keys).toBe(0)
  })

  test('a call that waits past its deadline is refused (BusyError deadline) and passes its turn on; the calls behind it keep their order', async () => {
    vi.useFakeTimers()
    try {
      const mutex = createKeyedMutex()
      const g = gate()
      const order: string[] = []
      const first = mutex.run('k', async () => {
        await g.opened
        order.push('first')
      })
      const late = mutex.run('k', async () => order.push('late'), 1000).catch((e: unknown) => e)
      const patient = mutex.run('k', async () => order.push('patient'))
      await vi.advanceTimersByTimeAsync(1000)
      expect(await late).toMatchObject({ name: 'BusyError', reason: 'deadline' })
      expect(order).toEqual([])
      g.open()
      await Promise.all([first, patient])
      expect(order).toEqual(['first', 'patient'])
      expect(mutex.keys).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('password hashing', () => {
  test('Argon2id hashes verify, wrong passwords and garbage hashes do not, through a hasher of one slot', async () => {
    const hasher = createPasswordHasher({ concurrency: 1 })
    const stored = await hasher.hash('correct horse battery staple')
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    const results = await Promise.all([
      hasher.verify(stored, 'correct horse battery staple'),
      hasher.verify(stored, 'wrong horse battery staple'),
      hasher.verify('not a hash', 'correct horse battery staple'),
      verifyPassword(stored, 'correct horse battery staple'),
    ])
    expect(results).toEqual([true, false, false, true])
    expect(await verifyPassword(await hashPassword('x'.repeat(8)), 'x'.repeat(8))).toBe(true)
  })

  test('hashes and verifications go through the limit', async () => {
    const hasher = createPasswordHasher({ concurrency: 2 })
    const stored = await hasher.hash('correct horse battery staple')
    const calls = [hasher.verify(stored, 'a wrong password'), hasher.hash('another password'), hasher.verify(stored, 'correct horse battery staple')]
    expect(hasher.inFlight()).toEqual({ active: 2, waiting: 1, refused: 0 })
    await Promise.all(calls)
    expect(hasher.inFlight()).toEqual({ active: 0, waiting: 0, refused: 0 })
  })

  test('the default is one hash per CPU core', () => {
    expect(defaultHashConcurrency()).toBe(availableParallelism())
  })
})
