import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'

type Timestamp = ColumnType<Date, Date, Date>

export interface UsersTable {
  id: string
  email: string
  /** Null for an account made by an identity provider's ID token (migration 9): no password signs in. */
  password_hash: string | null
  created_at: Timestamp
  /** Issue 13 (migration 6): the owner proved they read mail sent to `email`. */
  email_verified: Generated<boolean>
}

/** An identity provider's account linked to ours: (issuer, subject) is the key (migration 9). */
export interface UserIdentitiesTable {
  /** Random id the API names it by (unlinking). */
  id: string
  issuer: string
  subject: string
  user_id: string
  /** The configured provider's name (apple, google, or a generic OIDC one). */
  provider: string
  /** The email the provider gave when linked (Apple private-relay addresses as any other). */
  email: string | null
  /** The name the app sent with the first sign-in (Apple gives it only then). */
  name: string | null
  created_at: Timestamp
  /** Sign in with Apple's refresh token (migration 12; `enc:v1:` when LATCHKEY_SECRET is set), kept to revoke it. */
  provider_token: string | null
  /** The client id (bundle id or services id) `provider_token` was issued to. */
  provider_client_id: string | null
}

/** A provider token to revoke (migration 12), queued with the deletion or unlink that ends its use. */
export interface ProviderTokenRevocationsTable {
  id: string
  provider: string
  client_id: string
  /** As stored on the identity (encrypted when LATCHKEY_SECRET is set); the row is deleted once revoked. */
  token: string
  created_at: Timestamp
  next_attempt_at: Timestamp
  attempts: Generated<number>
  lease_until: Timestamp | null
  last_error: string | null
  failed_at: Timestamp | null
}

/** SHA-256 of ID tokens already used, until they expire (replay refusal). */
export interface IdTokenUsesTable {
  token_hash: string
  expires_at: Timestamp
}

export interface SessionsTable {
  /** base64url of 16 random bytes; also the `sid` claim and the first part of refresh tokens. */
  id: string
  user_id: string
  /** Rotation counter: the only refresh token that is valid carries this value. */
  counter: number
  /** Per-session random secret (32 bytes, base64url), an input of the refresh-token MAC. */
  secret: string
  device: string | null
  created_at: Timestamp
  last_used_at: Timestamp
  rotated_at: Timestamp | null
  revoked_at: Timestamp | null
  revoke_reason: string | null
  /** RFC 7638 thumbprint of the DPoP key the session is bound to (migration 5); null: a bearer session. */
  dpop_jkt: Generated<string | null>
}

export interface SigningKeysTable {
  kid: string
  alg: string
  /** `current` signs; `previous` is still published in the JWKS; `retired` is neither. */
  status: 'current' | 'previous' | 'retired'
  private_jwk: string
  public_jwk: string
  created_at: Timestamp
}

export interface ServerSecretsTable {
  name: string
  value: string
  created_at: Timestamp
}

export interface RateLimitsTable {
  key: string
  window_start: Timestamp
  count: number
  /** Hits of the window before `window_start` (sliding-window estimate); migration 3. */
  prev_count: Generated<number>
}

export interface AuditEventsTable {
  id: Generated<string>
  type: string
  user_id: string | null
  session_id: string | null
  ip: string | null
  detail: string | null
  created_at: Timestamp
}

/** Issue 13 (migration 6): a message waiting to be sent, or sent (email/outbox.ts). */
export interface EmailOutboxTable {
  id: string
  to_address: string
  subject: string
  text_body: string
  html_body: string
  created_at: Timestamp
  next_attempt_at: Timestamp
  attempts: Generated<number>
  /** A worker claimed it until then; another may claim it once it passes (a crashed worker). */
  lease_until: Timestamp | null
  sent_at: Timestamp | null
  /** Given up after too many attempts. */
  failed_at: Timestamp | null
  last_error: string | null
}

export type EmailCodePurpose = 'password_reset' | 'verify_email'

/** Issue 13 (migration 6): a one-time code sent by email, kept as an HMAC only (email/codes.ts). */
export interface EmailCodesTable {
  id: string
  user_id: string
  purpose: EmailCodePurpose
  code_hash: string
  attempts: Generated<number>
  created_at: Timestamp
  expires_at: Timestamp
  used_at: Timestamp | null
}

/** Issue 15: one row per role a user holds (migration 8). */
export interface UserRolesTable {
  user_id: string
  role: string
  granted_at: Timestamp
}

/** RFC 9449 §11.1: DPoP proof jtis already used (dpop/jti-store.ts); migration 5. */
export interface DpopProofsTable {
  /** base64url SHA-256 of the key thumbprint and the jti. */
  key: string
  expires_at: Timestamp
}

export interface MigrationsTable {
  version: number
  name: string
  applied_at: Timestamp
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  signing_keys: SigningKeysTable
  server_secrets: ServerSecretsTable
  rate_limits: RateLimitsTable
  audit_events: AuditEventsTable
  dpop_proofs: DpopProofsTable
  user_identities: UserIdentitiesTable
  id_token_uses: IdTokenUsesTable
  latchkey_migrations: MigrationsTable
  user_roles: UserRolesTable
  email_outbox: EmailOutboxTable
  email_codes: EmailCodesTable
  provider_token_revocations: ProviderTokenRevocationsTable
}

export type SessionRow = Selectable<SessionsTable>
export type UserRow = Selectable<UsersTable>
export type SigningKeyRow = Selectable<SigningKeysTable>
export type NewAuditEvent = Insertable<AuditEventsTable>
