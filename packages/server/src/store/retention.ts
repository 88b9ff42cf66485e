import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import type { Lifetimes } from './sessions.js'
import { pruneDpopProofs } from '../dpop/jti-store.js'

export interface RetentionRules {
  /** Audit events, and sessions after they ended (revoked or expired), are kept this long (seconds). */
  retentionSeconds: number
  /** The longest rate-limit window: a counter is dropped two windows after its window started. */
  rateWindowSeconds: number
  life: Lifetimes
}

export interface PruneCounts {
  rateLimits: number
  auditEvents: number
  sessions: number
  /** DPoP proof jtis past their window (dpop/jti-store.ts). */
  dpopProofs: number
  /** Outbox messages sent or given up on longer than the retention ago (email/outbox.ts): they name the address. */
  emailOutbox: number
  /** One-time codes (email/codes.ts) used or expired: nothing can accept them any more. */
  emailCodes: number
}

/**
 * Deletes what no rule needs any more, so that no table grows without bound (OWASP Logging Cheat
 * Sheet: a defined retention for security logs; ASVS V7.1 / V8.3.8: personal data kept no longer
 * than needed; unbounded rate-limit rows would let anyone with many source addresses grow the
 * database). A refresh token of a deleted session is answered `invalid_grant`, as for any ended
 * session. Idempotent, so every server process may run it.
 */
export async function pruneExpired(db: Kysely<Database>, rules: RetentionRules, now: Date): Promise<PruneCounts> {
  const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000)
  // A rate-limit row still weighs in for one window after its own (sliding estimate).
  const rateLimits = await db.deleteFrom('rate_limits').where('window_start', '<=', ago(2 * rules.rateWindowSeconds)).executeTakeFirst()
  const auditEvents = await db.deleteFrom('audit_events').where('created_at', '<', ago(rules.retentionSeconds)).executeTakeFirst()
  const sessions = await db
    .deleteFrom('sessions')
    .where((eb) =>
      eb.or([
        eb('revoked_at', '<', ago(rules.retentionSeconds)),
        eb('last_used_at', '<', ago(rules.life.idle + rules.retentionSeconds)),
        eb('created_at', '<', ago(rules.life.max + rules.retentionSeconds)),
      ]),
    )
    .executeTakeFirst()
  const dpopProofs = await pruneDpopProofs(db, now)
  // Issue 13: a message's row names its recipient (personal data) once its bodies are emptied: kept
  // as long as the audit trail, then gone; a message still being retried stays.
  const emailOutbox = await db
    .deleteFrom('email_outbox')
    .where((eb) => eb.or([eb('sent_at', '<', ago(rules.retentionSeconds)), eb('failed_at', '<', ago(rules.retentionSeconds))]))
    .executeTakeFirst()
  const emailCodes = await db
    .deleteFrom('email_codes')
    .where((eb) => eb.or([eb('expires_at', '<', now), eb('used_at', 'is not', null)]))
    .executeTakeFirst()
  return {
    rateLimits: Number(rateLimits.numDeletedRows), auditEvents: Number(auditEvents.numDeletedRows), sessions: Number(sessions.numDeletedRows), dpopProofs,
    emailOutbox: Number(emailOutbox.numDeletedRows), emailCodes: Number(emailCodes.numDeletedRows),
  }
}

