import { randomUUID } from 'node:crypto'
import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../db/schema.js'
import { LeasedWorker, backoffMs, type LeasedQueueOptions } from '../jobs/leased-worker.js'
import type { Logger } from '../service.js'
import type { MailTransport } from './transport.js'
import type { Rendered } from './templates.js'

/**
 * Writes a message to the outbox inside `trx`, the transaction of the change that needs it (the
 * transactional outbox pattern): the message exists if and only if the change committed.
 */
export async function enqueueMail(trx: Transaction<Database> | Kysely<Database>, to: string, mail: Rendered, now: Date): Promise<void> {
  await trx
    .insertInto('email_outbox')
    .values({ id: randomUUID(), to_address: to, subject: mail.subject, text_body: mail.text, html_body: mail.html, created_at: now, next_attempt_at: now, lease_until: null, sent_at: null, failed_at: null, last_error: null })
    .execute()
}

/** Defaults: first retry after 2 s, at most 10 min apart, 30 attempts (about four hours), a 5-minute lease, a poll every 30 s. */
export interface OutboxOptions extends LeasedQueueOptions {
  db: Kysely<Database>
  transport: MailTransport
  now: () => Date
  logger: Logger
}

/**
 * The outbox worker of one server process. Every process runs one; each message is sent by one:
 * a run claims due messages in one statement (`FOR UPDATE SKIP LOCKED`: two processes never claim
 * the same row, neither waits for the other) and sets a lease; only the holder of an unexpired
 * lease sends. After the transport accepted it, the row is marked sent; a failure sets the next
 * attempt with exponential backoff (capped) and clears the lease.
 *
 * Delivery is at least once: a process that dies between the SMTP server's acceptance and the
 * `sent_at` update (a few milliseconds, one UPDATE) leaves a leased row, which another process
 * sends again once the lease expires. No message committed to the outbox is ever lost.
 *
 * Wakes at once when this process queues a message (`wake()`), when the earliest retry is due,
 * and every `pollMs` (what other processes queued); never runs twice at once, never busy-loops.
 */
export class OutboxWorker extends LeasedWorker {
  readonly #o: Required<OutboxOptions>

  constructor(o: OutboxOptions) {
    const options = { retryBaseMs: 2_000, retryMaxMs: 600_000, maxAttempts: 30, leaseMs: 300_000, pollMs: 30_000, ...o }
    super({ logger: o.logger, name: 'email outbox', pollMs: options.pollMs })
    this.#o = options
  }

  protected override onClose(): void {
    this.#o.transport.close()
  }

  /** Claims due messages and sends them; returns how many it claimed. */
  protected async runOnce(): Promise<number> {
    const { db, now: clock, leaseMs } = this.#o
    const now = clock()
    const leaseUntil = new Date(now.getTime() + leaseMs)
    // One statement: the subquery locks due, unleased rows (skipping rows another process is
    // claiming at this instant), the update leases them and counts the attempt.
    const claimed = await sql<{ id: string; to_address: string; subject: string; text_body: string; html_body: string; attempts: number }>`
      update email_outbox set lease_until = ${leaseUntil}, attempts = attempts + 1
      where id in (
        select id from email_outbox
        where sent_at is null and failed_at is null and next_attempt_at <= ${now}
          and (lease_until is null or lease_until <= ${now})
        order by next_attempt_at
        limit 10
        for update skip locked)
      returning id, to_address, subject, text_body, html_body, attempts`.execute(db)
    for (const m of claimed.rows) {
      if (this.closed) {
        // Shutting down: hand the claim back untried, for this or another process to send.
        await db.updateTable('email_outbox').set({ lease_until: null, attempts: sql`attempts - 1` }).where('id', '=', m.id).where('lease_until', '=', leaseUntil).execute()
        continue
      }
      await this.#send(m, leaseUntil)
    }
    return claimed.rows.length
  }

  async #send(m: { id: string; to_address: string; subject: string; text_body: string; html_body: string; attempts: number }, leaseUntil: Date): Promise<void> {
    const { db, transport, logger } = this.#o
    try {
      await transport.send({ id: m.id, to: m.to_address, subject: m.subject, text: m.text_body, html: m.html_body })
    } catch (e) {
      const error = (e instanceof Error ? e.message : String(e)).slice(0, 500)
      const now = this.#o.now()
      const giveUp = m.attempts >= this.#o.maxAttempts
      const delay = backoffMs(m.attempts, this.#o.retryBaseMs, this.#o.retryMaxMs)
      await db
        .updateTable('email_outbox')
        .set({ lease_until: null, last_error: error, next_attempt_at: new Date(now.getTime() + delay), failed_at: giveUp ? now : null })
        .where('id', '=', m.id)
        .execute()
      // The error names the SMTP problem, never the message (its code stays out of the log).
      ;(giveUp ? logger.error : logger.warn)(giveUp ? 'email given up after too many attempts' : 'email not sent; will retry', { id: m.id, attempts: m.attempts, error })
      return
    }
    // Marked sent at once: the window in which a crash causes a second send is this one statement.
    // The bodies are emptied: they hold the code in clear, needed only until the message is sent.
    await db.updateTable('email_outbox').set({ sent_at: this.#o.now(), lease_until: null, last_error: null, text_body: '', html_body: '' }).where('id', '=', m.id).where('lease_until', '=', leaseUntil).execute()
  }

  protected async msUntilNextDue(): Promise<number> {
    const row = await this.#o.db
      .selectFrom('email_outbox')
      .select((eb) => eb.fn.min(sql<Date>`greatest(next_attempt_at, coalesce(lease_until, next_attempt_at))`).as('next'))
      .where('sent_at', 'is', null)
      .where('failed_at', 'is', null)
      .executeTakeFirst()
    const next = row?.next
    if (!next) return this.#o.pollMs
    return new Date(next).getTime() - this.#o.now().getTime()
  }
}
