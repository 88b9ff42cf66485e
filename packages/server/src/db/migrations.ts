import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from './schema.js'

interface Migration {
  version: number
  name: string
  up: (db: Transaction<Database>) => Promise<void>
}

/** Append only: a released migration is never edited, a change is a new version. */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'initial',
    async up(db) {
      await sql`
        create table users (
          id text primary key,
          email text not null unique,
          password_hash text not null,
          created_at timestamptz not null
        )`.execute(db)
      await sql`
        create table sessions (
          id text primary key,
          user_id text not null references users(id) on delete cascade,
          counter integer not null,
          secret text not null,
          device text,
          created_at timestamptz not null,
          last_used_at timestamptz not null,
          rotated_at timestamptz,
          revoked_at timestamptz,
          revoke_reason text
        )`.execute(db)
      await sql`create index sessions_user_id on sessions (user_id)`.execute(db)
      await sql`
        create table signing_keys (
          kid text primary key,
          alg text not null,
          status text not null check (status in ('current', 'previous', 'retired')),
          private_jwk text not null,
          public_jwk text not null,
          created_at timestamptz not null
        )`.execute(db)
      // At most one key signs at a time, even when two processes bootstrap at once.
      await sql`create unique index signing_keys_one_current on signing_keys (status) where status = 'current'`.execute(db)
      await sql`
        create table server_secrets (
          name text primary key,
          value text not null,
          created_at timestamptz not null
        )`.execute(db)
      await sql`
        create table rate_limits (
          key text primary key,
          window_start timestamptz not null,
          count integer not null
        )`.execute(db)
      await sql`
        create table audit_events (
          id bigserial primary key,
          type text not null,
          user_id text,
          session_id text,
          ip text,
          detail text,
          created_at timestamptz not null
        )`.execute(db)
      await sql`create index audit_events_type on audit_events (type)`.execute(db)
    },
  },
  {
    version: 2,
    name: 'retention indexes',
    async up(db) {
      // Pruning deletes audit events and ended sessions by age (store/retention.ts).
      await sql`create index audit_events_created_at on audit_events (created_at)`.execute(db)
      await sql`create index sessions_last_used_at on sessions (last_used_at)`.execute(db)
    },
  },
  {
    version: 3,
    name: 'sliding rate-limit windows',
    async up(db) {
      await sql`alter table rate_limits add column prev_count integer not null default 0`.execute(db)
    },
  },
  {
    version: 4,
    name: 'revocation feed notifications',
    async up(db) {
      // Issue 14: the database announces every session that ends on the channel
      // 'latchkey_sessions_ended' (store/sessions-ended.ts), whoever ends it (any version of the
      // server, an operator's UPDATE, a cascade), delivered to every LISTENing process on commit.
      // Revoked: one notification per session; the trigger fires only for UPDATEs that set
      // revoked_at, so rotations (the refresh path) pay nothing.
      await sql`
        create function latchkey_session_revoked() returns trigger language plpgsql as $$
        begin
          perform pg_notify('latchkey_sessions_ended', new.id);
          return null;
        end $$`.execute(db)
      await sql`
        create trigger sessions_revoked after update of revoked_at on sessions for each row
        when (old.revoked_at is null and new.revoked_at is not null)
        execute function latchkey_session_revoked()`.execute(db)
      // Deleted while not revoked: per statement, 256 ids per notification (payloads stay far
      // under PostgreSQL's 8000-byte limit). Pruning expired sessions announces them too (harmless).
      await sql`
        create function latchkey_sessions_deleted() returns trigger language plpgsql as $$
        declare ids text[];
        begin
          select array_agg(id) into ids from gone where revoked_at is null;
          if ids is not null then
            for i in 0 .. (cardinality(ids) - 1) / 256 loop
              perform pg_notify('latchkey_sessions_ended', array_to_string(ids[i * 256 + 1 : (i + 1) * 256], ' '));
            end loop;
          end if;
          return null;
        end $$`.execute(db)
      // The feed catches up after a (re)connect with the sessions revoked recently.
      await sql`create index sessions_revoked_at on sessions (revoked_at) where revoked_at is not null`.execute(db)
      await sql`
        create trigger sessions_deleted after delete on sessions referencing old table as gone
        for each statement execute function latchkey_sessions_deleted()`.execute(db)
    },
  },
  {
    version: 5,
    name: 'dpop',
    async up(db) {
      // Issue 12, RFC 9449: a session signed in with a DPoP proof is bound to its key's RFC 7638
      // thumbprint; null: a bearer session.
      await sql`alter table sessions add column dpop_jkt text`.execute(db)
      // DPoP proof jtis, single use across every process (§11.1); pruned past expires_at.
      await sql`
        create table dpop_proofs (
          key text primary key,
          expires_at timestamptz not null
        )`.execute(db)
      await sql`create index dpop_proofs_expires_at on dpop_proofs (expires_at)`.execute(db)
    },
  },
  {
    version: 6,
    name: 'email outbox and one-time codes',
    async up(db) {
      // Issue 13: messages are written here in the transaction of the change that needs them and
      // sent by a worker in any process (email/outbox.ts): claimed with FOR UPDATE SKIP LOCKED and
      // a lease, so one process sends each; retried with backoff until sent or given up.
      await sql`
        create table email_outbox (
          id text primary key,
          to_address text not null,
          subject text not null,
          text_body text not null,
          html_body text not null,
          created_at timestamptz not null,
          next_attempt_at timestamptz not null,
          attempts integer not null default 0,
          lease_until timestamptz,
          sent_at timestamptz,
          failed_at timestamptz,
          last_error text
        )`.execute(db)
      await sql`create index email_outbox_due on email_outbox (next_attempt_at) where sent_at is null and failed_at is null`.execute(db)
      // One-time codes sent by email (password reset, email verification): only an HMAC is kept.
      await sql`
        create table email_codes (
          id text primary key,
          user_id text not null references users(id) on delete cascade,
          purpose text not null,
          code_hash text not null,
          attempts integer not null default 0,
          created_at timestamptz not null,
          expires_at timestamptz not null,
          used_at timestamptz
        )`.execute(db)
      await sql`create index email_codes_user on email_codes (user_id, purpose)`.execute(db)
      await sql`alter table users add column email_verified boolean not null default false`.execute(db)
    },
  },
  {
    version: 8,
    name: 'user roles',
    async up(db) {
      // Issue 15: a user's roles (names checked by roles/names.ts), granted and revoked by the admin command.
      await sql`
        create table user_roles (
          user_id text not null references users(id) on delete cascade,
          role text not null,
          granted_at timestamptz not null,
          primary key (user_id, role)
        )`.execute(db)
    },
  },
  {
    version: 9,
    name: 'identity provider sign-in',
    async up(db) {
      // Issue 15 (identity/): an account may have no password (created by an ID token); sign-in
      // treats a missing hash as a failed check (service.ts checkPassword).
      await sql`alter table users alter column password_hash drop not null`.execute(db)
      // An identity is (issuer, sub) (OpenID Connect Core §2: sub is unique only within its issuer).
      await sql`
        create table user_identities (
          id text not null unique,
          issuer text not null,
          subject text not null,
          user_id text not null references users(id) on delete cascade,
          provider text not null,
          email text,
          name text,
          created_at timestamptz not null,
          primary key (issuer, subject)
        )`.execute(db)
      await sql`create index user_identities_user_id on user_identities (user_id)`.execute(db)
      // ID tokens already used (a SHA-256 of each), kept until the token expires: a replayed
      // token is refused by every process (the primary key is the shared check).
      await sql`
        create table id_token_uses (
          token_hash text primary key,
          expires_at timestamptz not null
        )`.execute(db)
      await sql`create index id_token_uses_expires_at on id_token_uses (expires_at)`.execute(db)
    },
  },
  {
    version: 10,
    name: 'user facts notifications',
    async up(db) {
      // Issue 14/15: what /me answers about a user (email, email_verified, roles) is cached per
      // process (feed/user-facts.ts) and forgotten when the database announces a change on
      // 'latchkey_users_changed' (store/users-changed.ts), from inside the changing transaction,
      // whoever makes it (the server, the roles command, an operator's SQL, a cascade). Payload:
      // one user id; PostgreSQL folds identical notifications of one transaction into one.
      await sql`
        create function latchkey_users_changed() returns trigger language plpgsql as $$
        begin
          perform pg_notify('latchkey_users_changed', case when tg_op = 'DELETE' then old.id else new.id end);
          return null;
        end $$`.execute(db)
      await sql`
        create trigger users_facts_changed after update of email, email_verified on users for each row
        when (old.email is distinct from new.email or old.email_verified is distinct from new.email_verified)
        execute function latchkey_users_changed()`.execute(db)
      await sql`create trigger users_deleted after delete on users for each row execute function latchkey_users_changed()`.execute(db)
      await sql`
        create function latchkey_user_roles_changed() returns trigger language plpgsql as $$
        begin
          perform pg_notify('latchkey_users_changed', case when tg_op = 'DELETE' then old.user_id else new.user_id end);
          if tg_op = 'UPDATE' and old.user_id <> new.user_id then
            perform pg_notify('latchkey_users_changed', old.user_id);
          end if;
          return null;
        end $$`.execute(db)
      await sql`
        create trigger user_roles_changed after insert or update or delete on user_roles for each row
        execute function latchkey_user_roles_changed()`.execute(db)
    },
  },
  {
    version: 11,
    name: 'work queue notifications',
    async up(db) {
      // Issue 13/15: a process that queues mail or a token revocation wakes its own worker; the
      // others hear of it here (store/jobs-queued.ts), once per inserting statement, on commit.
      await sql`
        create function latchkey_jobs_queued() returns trigger language plpgsql as $$
        begin
          perform pg_notify('latchkey_jobs_queued', tg_table_name);
          return null;
        end $$`.execute(db)
      await sql`create trigger email_outbox_queued after insert on email_outbox for each statement execute function latchkey_jobs_queued()`.execute(db)
    },
  },
  {
    version: 12,
    name: 'provider token revocations',
    async up(db) {
      // Issue 15: Sign in with Apple's refresh token (from exchanging the app's authorization code),
      // encrypted when LATCHKEY_SECRET is set, kept only to revoke it when the account is deleted
      // or the identity unlinked; the client id it was issued to goes with it.
      await sql`alter table user_identities add column provider_token text`.execute(db)
      await sql`alter table user_identities add column provider_client_id text`.execute(db)
      // Revocations queued in the deleting transaction and sent by a worker with retries
      // (identity/apple-tokens.ts): a deletion never waits for Apple, and none is lost to a restart.
      await sql`
        create table provider_token_revocations (
          id text primary key,
          provider text not null,
          client_id text not null,
          token text not null,
          created_at timestamptz not null,
          next_attempt_at timestamptz not null,
          attempts integer not null default 0,
          lease_until timestamptz,
          last_error text,
          failed_at timestamptz
        )`.execute(db)
      await sql`create index provider_token_revocations_due on provider_token_revocations (next_attempt_at) where failed_at is null`.execute(db)
      await sql`create trigger provider_token_revocations_queued after insert on provider_token_revocations for each statement execute function latchkey_jobs_queued()`.execute(db)
    },
  },
]

/** Arbitrary constant naming the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK = 0x4c4b5352 // "LKSR"

/**
 * Applies pending migrations in one transaction. On PostgreSQL a transaction-scoped advisory lock
 * makes concurrent starts of several processes wait for each other instead of racing.
 * `afterMigrate` runs inside the same locked transaction (bootstrap of keys and secrets).
 */
export async function migrate(db: Kysely<Database>, afterMigrate?: (trx: Transaction<Database>) => Promise<void>): Promise<number[]> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(trx)
    await sql`
      create table if not exists latchkey_migrations (
        version integer primary key,
        name text not null,
        applied_at timestamptz not null
      )`.execute(trx)
    const done = new Set((await trx.selectFrom('latchkey_migrations').select('version').execute()).map((r) => r.version))
    const applied: number[] = []
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue
      await m.up(trx)
      await trx.insertInto('latchkey_migrations').values({ version: m.version, name: m.name, applied_at: new Date() }).execute()
      applied.push(m.version)
    }
    if (afterMigrate) await afterMigrate(trx)
    return applied
  })
}
