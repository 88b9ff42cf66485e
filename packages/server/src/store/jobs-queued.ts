/**
 * PostgreSQL NOTIFY channel on which a trigger announces new rows in the work queues
 * (`email_outbox`, `provider_token_revocations`; migration 11), from inside the inserting
 * transaction: every listening process hears it when, and only if, the insert commits, and wakes
 * its worker at once instead of at its next poll. Payload: the table's name. Heard by the
 * revocation feed's LISTEN connection (feed/revocation-feed.ts); polling stays the fallback.
 */
export const JOBS_QUEUED_CHANNEL = 'latchkey_jobs_queued'
