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

/** One Argon2id hash, with no limit (seeding, tools). The server hashes through a `PasswordHasher`. */
export const hashPassword = (password: string): Promise<string> => hash(password, ARGON2_OPTIONS)

/** One Argon2id verification, with no limit; false for a wrong password or a malformed hash. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password)
  } catch {
    return false
  }
}

/** The work the queue is full for, or waited too long for: the caller answers 503 with Retry-After. */
export class BusyError extends Error {
  override name = 'BusyError'
  constructor(
    readonly reason: 'queue_full' | 'deadline',
    /** Seconds after which a retry is likely to be taken. */
    readonly retryAfter: number,
  ) {
    super(reason === 'queue_full' ? 'too many calls waiting' : 'waited too long')
  }
}

export interface LimiterOptions {
  /** Calls running at once. */
  max: number
  /** Calls waiting at most; one more is refused at once with `BusyError('queue_full')`. Default unbounded. */
  maxQueue?: number
  /**
   * Milliseconds a call may wait for its turn before it is refused with `BusyError('deadline')`.
   * A call whose expected wait (the work ahead of it at the measured time per call) is already
   * longer is refused at once with `BusyError('queue_full')`. Default none.
   */
  queueTimeoutMs?: number
  /** Milliseconds per call assumed until calls have been measured. Default 50 (about one Argon2id verification here). */
  initialEstimateMs?: number
  /** The clock calls are measured with (tests). Default `performance.now`. */
  now?: () => number
}

/**
 * At most `max` calls of `fn` run at once; the others wait in order, at most `maxQueue` of them
 * and each for at most `queueTimeoutMs`. A finished call hands its slot straight to the next
 * waiter, so the bound holds however callers interleave. Refusals carry a Retry-After estimated
 * from the average run time and the work ahead.
 */
export function createLimiter(limit: number | LimiterOptions) {
  const o: LimiterOptions = typeof limit === 'number' ? { max: limit } : limit
  const { max } = o
  if (!Number.isInteger(max) || max < 1) throw new RangeError('the limit must be a positive integer')
  const maxQueue = o.maxQueue ?? Number.POSITIVE_INFINITY
  if (!(maxQueue >= 0) || (Number.isFinite(maxQueue) && !Number.isInteger(maxQueue))) throw new RangeError('the queue cap must be a non-negative integer')
  let active = 0
  let refused = 0
  let averageMs = o.initialEstimateMs ?? 50
  const now = o.now ?? (() => performance.now())
  const waiting: Array<{ resolve: () => void; timer?: ReturnType<typeof setTimeout> }> = []
  const retryAfter = () => Math.max(1, Math.ceil((((waiting.length + active) / max) * averageMs) / 1000))
  // Admission: a place in the queue, and a turn expected before the deadline. A call that would
  // only wait to be refused at its deadline is refused now: it holds no place the whole deadline,
  // and a flood larger than what the slots can serve in time is answered at once, while one that
  // they can serve in time waits its turn instead of coming back at once to be refused again
  // (bench server-sign-in-flood: a fixed cap of 16 per slot refused a 300-connection flood that
  // the slots could serve within the deadline, and the refusals came back 2 000 times a second).
  const admits = () =>
    waiting.length < maxQueue && (o.queueTimeoutMs === undefined || ((waiting.length + 1) / max) * averageMs <= o.queueTimeoutMs)
  const release = () => {
    const next = waiting.shift()
    if (next) {
      clearTimeout(next.timer)
      next.resolve()
    } else active--
  }
  return {
    get active() {
      return active
    },
    get waiting() {
      return waiting.length
    },
    /** Calls refused so far (queue full or deadline). */
    get refused() {
      return refused
    },
    /** Throws `BusyError('queue_full')` now if a call made now would be refused (checked again by `run`). */
    refuseIfFull(): void {
      if (active >= max && !admits()) {
        refused++
        throw new BusyError('queue_full', retryAfter())
      }
    },
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active < max) active++
      else if (!admits()) {
        refused++
        throw new BusyError('queue_full', retryAfter())
      } else {
        await new Promise<void>((resolve, reject) => {
          const entry: (typeof waiting)[number] = { resolve }
          if (o.queueTimeoutMs !== undefined) {
            entry.timer = setTimeout(() => {
              const i = waiting.indexOf(entry)
              if (i < 0) return
              waiting.splice(i, 1)
              refused++
              reject(new BusyError('deadline', retryAfter()))
            }, o.queueTimeoutMs)
            entry.timer.unref?.()
          }
          waiting.push(entry)
        })
      }
      const started = now()
      try {
        return await fn()
      } finally {
        averageMs = averageMs * 0.9 + (now() - started) * 0.1
        release()
      }
    },
  }
}

/** The Argon2id functions a hasher calls (tests wrap them to count or hold calls). */
export interface Argon2Functions {
  hash(password: string): Promise<string>
  verify(passwordHash: string, password: string): Promise<boolean>
}

export interface PasswordHasherOptions {
  /** Hashes at once. Default one per CPU core. */
  concurrency?: number
  /** Hashes waiting at most. Default `DEFAULT_QUEUE_PER_SLOT` × concurrency. */
  maxQueue?: number
  /** Milliseconds a hash may wait for its turn. Default `DEFAULT_QUEUE_TIMEOUT_MS`. */
  queueTimeoutMs?: number
  argon2?: Argon2Functions
}

/**
 * Each hash keeps a thread of libuv's pool (4 threads by default) busy for tens of milliseconds;
 * more hashes than cores add no throughput, they only compete with the event loop for the CPU, so
 * every other request is answered later. Measured on 2 cores (bench server-sign-in, one run
 * each): 2 at once gave the same sign-ins/s as 4 (122–126 vs 126–128) with /me p50 during
 * sign-ins 5–6 ms instead of 8–18 ms; 1 at once cost a quarter of the sign-ins for little more.
 * Hence the default: one per core.
 *
 * The queue in front of them is bounded too (ASVS 5.0 V6 / OWASP: password hashing must not
 * become a denial-of-service lever): with no bound, 300 sign-ins queued on 2 cores took 12 s to
 * drain, and every request behind them waited. A sign-in is admitted to the queue only if the work
 * ahead of it, at the measured time per hash, ends within the 10 s deadline, and never beyond 256
 * waiting per slot (a memory bound); otherwise it is answered 503 with Retry-After at once. A
 * first cut refused beyond a fixed 16 per slot: a 300-connection flood that the slots could serve
 * within the deadline was then answered 503 ~2 000 times a second, and the refusals cost the event
 * loop more than the queue had (bench server-sign-in-flood, 2026-11-23).
 */
export const DEFAULT_QUEUE_PER_SLOT = 256
// 10 s, the client's own deadline for a token request (SESSION_DEFAULTS.refreshTimeoutMs): a wait
// the client would not outlast is refused, a shorter one is served. With 3 s, a 300-connection
// flood on 2 cores (which the slots serve in ~2.5 s at rest, slower under load) was partly
// refused, and the refused clients came straight back (bench server-sign-in-flood, 2026-11-23).
export const DEFAULT_QUEUE_TIMEOUT_MS = 10_000

export function defaultHashConcurrency(): number {
  return Math.max(1, availableParallelism())
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>

/** `p`, or `BusyError('deadline')` after `ms` (a refused waiter gives its turn on at once: see createKeyedMutex). */
function withDeadline(p: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BusyError('deadline', Math.max(1, Math.ceil(ms / 1000)))), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

/** Argon2id behind one app's limiter: created by createApp, handed to the service. */
export function createPasswordHasher(o: PasswordHasherOptions = {}) {
  const concurrency = o.concurrency ?? defaultHashConcurrency()
  const queueTimeoutMs = o.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS
  const limiter = createLimiter({ max: concurrency, maxQueue: o.maxQueue ?? DEFAULT_QUEUE_PER_SLOT * concurrency, queueTimeoutMs })
  const argon2 = o.argon2 ?? { hash: hashPassword, verify: verifyPassword }
  let dummy: Promise<string> | undefined
  return {
    /** How long a hash may wait for its turn (also the deadline of other waits in front of hashing). */
    queueTimeoutMs,
    /**
     * Throws `BusyError` if the queue is full now: a sign-in or sign-up checks this before any
     * database work, so a flood that will be refused anyway costs no query (PGlite serialises
     * every query, so a refused request's reads and writes would delay everyone else's).
     */
    refuseIfBusy: (): void => limiter.refuseIfFull(),
    /** Throws `BusyError` when the queue is full or the wait passed its deadline. */
    hash: (password: string): Promise<string> => limiter.run(() => argon2.hash(password)),
    /** False for a wrong password or a malformed hash; throws `BusyError` like `hash`. */
    verify: (passwordHash: string, password: string): Promise<boolean> =>
      limiter.run(async () => {
        try {
          return await argon2.verify(passwordHash, password)
        } catch {
          return false
        }
      }),
    /**
     * A hash of a random password with the same parameters, made once (outside the queue): sign-in
     * with an unknown email is verified against it, so it costs the same time as a wrong password
     * for a real account (OWASP Authentication Cheat Sheet: avoid account enumeration through
     * response times).
     */
    dummyHash: (): Promise<string> => (dummy ??= argon2.hash(randomBytes(18).toString('base64url'))),
    /** Hashes running and waiting now, and refused so far (tests and diagnostics). */
    inFlight: () => ({ active: limiter.active, waiting: limiter.waiting, refused: limiter.refused }),
  }
}

/**
 * One call at a time per key, in arrival order, within this process (the database counters make
 * the limits hold across processes; this keeps one account from occupying more than one hashing
 * slot at a time). A call that waits longer than `timeoutMs` for its turn is refused with
 * `BusyError('deadline')`, so a queue on one account cannot hold its owner for minutes. Keys with
 * nothing running take no memory.
 */
export function createKeyedMutex() {
  const tails = new Map<string, Promise<void>>()
  return {
    get keys() {
      return tails.size
    },
    async run<T>(key: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
      const before = tails.get(key)
      let release!: () => void
      const mine = new Promise<void>((resolve) => (release = resolve))
      const tail = before ? before.then(() => mine) : mine
      tails.set(key, tail)
      try {
        if (before) await (timeoutMs === undefined ? before : withDeadline(before, timeoutMs))
        return await fn()
      } finally {
        release()
        if (tails.get(key) === tail) tails.delete(key)
      }
    },
  }
}
