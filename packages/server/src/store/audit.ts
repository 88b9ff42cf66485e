import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

export type AuditType =
  | 'sign_up'
  | 'sign_in'
  | 'sign_in_failed'
  | 'refresh'
  | 'refresh_grace'
  | 'refresh_reuse_detected'
  | 'revoke'
  | 'sign_out'
  | 'rate_limited'
  | 'password_changed'
  | 'account_deleted'
  | 'role_granted'
  | 'role_revoked'
  | 'dpop_proof_refused'
  // identity/: sign-in with an identity provider's ID token, and linking.
  | 'identity_sign_up'
  | 'identity_sign_in'
  | 'identity_linked'
  | 'identity_unlinked'
  | 'password_reset_requested'
  | 'password_reset'
  | 'password_reset_failed'
  | 'email_verification_requested'
  | 'email_verified'
  | 'sign_up_existing'

export interface AuditInput {
  type: AuditType
  userId?: string | null
  sessionId?: string | null
  ip?: string | null
  /** Free-form context; never tokens, passwords or secrets. */
  detail?: Record<string, unknown>
  now: Date
}

export async function audit(db: Kysely<Database>, e: AuditInput): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      type: e.type,
      user_id: e.userId ?? null,
      session_id: e.sessionId ?? null,
      ip: e.ip ?? null,
      detail: e.detail ? JSON.stringify(e.detail) : null,
      created_at: e.now,
    })
    .execute()
}

/** How many audit events of a type (optionally for one session) are recorded. */
export async function countAuditEvents(db: Kysely<Database>, type: string, filter: { sessionId?: string; userId?: string } = {}): Promise<number> {
  let q = db.selectFrom('audit_events').select(sql<number>`count(*)::int`.as('n')).where('type', '=', type)
  if (filter.sessionId) q = q.where('session_id', '=', filter.sessionId)
  if (filter.userId) q = q.where('user_id', '=', filter.userId)
  return (await q.executeTakeFirstOrThrow()).n
}

export interface AuditEvent {
  type: string
  userId: string | null
  sessionId: string | null
  ip: string | null
  detail: Record<string, unknown> | null
  createdAt: Date
}

export async function listAuditEvents(db: Kysely<Database>, filter: { type?: string; userId?: string; sessionId?: string } = {}): Promise<AuditEvent[]> {
  let q = db.selectFrom('audit_events').selectAll().orderBy('id')
  if (filter.type) q = q.where('type', '=', filter.type)
  if (filter.userId) q = q.where('user_id', '=', filter.userId)
  if (filter.sessionId) q = q.where('session_id', '=', filter.sessionId)
  return (await q.execute()).map((r) => ({
    type: r.type,
    userId: r.user_id,
    sessionId: r.session_id,
    ip: r.ip,
    detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
    createdAt: r.created_at,
  }))
}
