import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { hash, verify, type Algorithm, type Options } from '@node-rs/argon2'

/**
 * Argon2id with OWASP's first recommended setting (Password Storage Cheat Sheet: m = 19 MiB,
 * t = 2, p = 1). @node-rs/argon2's async functions run on libuv's thread pool, off the event loop.
 */
export const ARGON2_OPTIONS: Options = {
  algorithm: 2 as Algorithm, // Argon2id (a const enum in the package's types)
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
}

/**
 * At most `max` calls of `fn` run at once; the others wait in order. A finished call hands its
 * slot straight to the next waiter, so the bound holds however callers interleave.
 */
export function createLimiter(max: number) {
  if (!Number.isInteger(max) || max < 1) throw new RangeError('the limit must be a positive integer')
  let active = 0
  const waiting: Array<() => void> = []
  return {
    get active() {
      return active
    },
    get waiting() {
      return waiting.length
    },
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active < max) active++
      else await new Promise<void>((resolve) => waiting.push(resolve))
      try {
        return await fn()
      } finally {
        const next = waiting.shift()
        if (next) next()
        else active--
      }
    },
  }
}

/**
 * Hashes at once, per process. Each one keeps a thread of libuv's pool (4 threads by default) busy
 * for tens of milliseconds; more hashes than cores add no throughput, they only compete with the
 * event loop for the CPU, so every other request is answered later. Measured on 2 cores (bench
 * server-sign-in, one run each): 2 at once gave the same sign-ins/s as 4 (122–126 vs 126–128)
 * with /me p50 during sign-ins 5–6 ms instead of 8–18 ms; 1 at once cost a quarter of the
 * sign-ins for little more. Hence the default: one per core.
 */
let limiter = createLimiter(defaultHashConcurrency())

export function defaultHashConcurrency(): number {
  return Math.max(1, availableParallelism())
}

export function setHashConcurrency(max: number): void {
  limiter = createLimiter(max)
}

/** Hashes running and waiting now (for tests and diagnostics). */
export const hashingInFlight = () => ({ active: limiter.active, waiting: limiter.waiting })

export const hashPassword = (password: string): Promise<string> => limiter.run(() => hash(password, ARGON2_OPTIONS))

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await limiter.run(() => verify(passwordHash, password))
  } catch {
    return false
  }
}

/**
 * A hash of a random password with the same parameters: sign-in with an unknown email is
 * verified against it, so it costs the same time as a wrong password for a real account
 * (OWASP Authentication Cheat Sheet: avoid account enumeration through response times).
 */
let dummy: Promise<string> | undefined
export const dummyPasswordHash = (): Promise<string> => (dummy ??= hashPassword(randomBytes(18).toString('base64url')))
