import { availableParallelism } from 'node:os'
import { afterEach, describe, expect, test } from 'vitest'
import { createLimiter, defaultHashConcurrency, hashPassword, hashingInFlight, setHashConcurrency, verifyPassword } from './password.js'

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

describe('password hashing', () => {
  afterEach(() => setHashConcurrency(defaultHashConcurrency()))

  test('Argon2id hashes verify, wrong passwords and garbage hashes do not, with any concurrency limit', async () => {
    setHashConcurrency(1)
    const stored = await hashPassword('correct horse battery staple')
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    const results = await Promise.all([
      verifyPassword(stored, 'correct horse battery staple'),
      verifyPassword(stored, 'wrong horse battery staple'),
      verifyPassword('not a hash', 'correct horse battery staple'),
      verifyPassword(stored, 'correct horse battery staple'),
    ])
    expect(results).toEqual([true, false, false, true])
  })

  test('hashes and verifications go through the limit', async () => {
    const stored = await hashPassword('correct horse battery staple')
    setHashConcurrency(2)
    const calls = [verifyPassword(stored, 'a wrong password'), hashPassword('another password'), verifyPassword(stored, 'correct horse battery staple')]
    expect(hashingInFlight()).toEqual({ active: 2, waiting: 1 })
    await Promise.all(calls)
    expect(hashingInFlight()).toEqual({ active: 0, waiting: 0 })
  })

  test('the default is one hash per CPU core', () => {
    expect(defaultHashConcurrency()).toBe(availableParallelism())
  })
})
