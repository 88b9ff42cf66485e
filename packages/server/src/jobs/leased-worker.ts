import type { Logger } from '../service.js'

export interface LeasedWorkerOptions {
  logger: Logger
  /** Names the worker in log lines. */
  name: string
  /** Looks for due work at least this often (other processes' rows, retries). */
  pollMs: number
}

/** The retry and lease settings every leased queue takes (email/outbox.ts, identity/apple-tokens.ts). */
export interface LeasedQueueOptions {
  /** First retry after this many ms, doubling each attempt. */
  retryBaseMs?: number
  /** Retries at most this far apart. */
  retryMaxMs?: number
  /** Attempts before a row is given up (`failed_at`). */
  maxAttempts?: number
  /** A claim lasts this long: longer than one attempt can take. */
  leaseMs?: number
  /** Looks for due rows at least this often (other processes' rows, retries). */
  pollMs?: number
}

/**
 * The scheduling of a durable work queue in a database table, shared by the email outbox
 * (email/outbox.ts) and the provider-token revocations (identity/apple-tokens.ts). A subclass
 * claims due rows with a lease in one statement (`FOR UPDATE SKIP LOCKED`, so two processes never
 * claim the same row) and processes them; this class runs it: at once on `wake()` (this process
 * queued work), when the earliest retry is due, and every `pollMs`; never twice at once, never a
 * busy loop, and a failed run is logged and tried again later.
 */
export abstract class LeasedWorker {
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #again = false
  #closed = false

  constructor(private readonly base: LeasedWorkerOptions) {}

  /** Claims due rows and processes them; returns how many it claimed (0: nothing due). */
  protected abstract runOnce(): Promise<number>
  /** Milliseconds until the earliest row is due (pollMs when none). */
  protected abstract msUntilNextDue(): Promise<number>
  /** Releases what the worker holds (a transport) once the last run has finished. */
  protected onClose(): void {}

  protected get closed(): boolean {
    return this.#closed
  }

  /** Starts the first run now (rows left by a previous run of the server). */
  start(): void {
    this.wake()
  }

  /** Runs as soon as possible (work was just queued, or the clock moved). */
  wake(): void {
    if (this.#closed) return
    if (this.#running) {
      this.#again = true
      return
    }
    this.#clear()
    this.#running = this.#runUntilIdle().finally(() => {
      this.#running = undefined
    })
  }

  /** Resolves once no run is in flight (tests). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#clear()
    await this.#running
    this.onClose()
  }

  #clear() {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  async #runUntilIdle(): Promise<void> {
    let nextMs = this.base.pollMs
    try {
      do {
        this.#again = false
        while (!this.#closed && (await this.runOnce()) > 0);
      } while (this.#again && !this.#closed)
      nextMs = await this.msUntilNextDue()
    } catch (e) {
      this.base.logger.warn(`${this.base.name} run failed`, { error: e instanceof Error ? e.message : String(e) })
    }
    if (this.#closed) return
    this.#timer = setTimeout(() => this.wake(), Math.max(10, Math.min(nextMs, this.base.pollMs)))
    this.#timer.unref()
  }
}

/** Exponential backoff: `baseMs` after the first attempt, doubling, at most `maxMs`. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)))
}
