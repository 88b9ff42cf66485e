import { randomUUID } from 'node:crypto'
import { decodeJwt } from 'jose'
import { sql, type Kysely, type Transaction } from 'kysely'
import { KeyCipher } from '../crypto/keys.js'
import type { Database } from '../db/schema.js'
import { HttpError } from '../http/errors.js'
import { LeasedWorker, backoffMs, type LeasedQueueOptions } from '../jobs/leased-worker.js'
import type { Logger } from '../service.js'
import { APPLE_REVOKE_ENDPOINT, AppleRevocationError, appleClientSecret, revokeAppleToken } from './apple-revoke.js'

/**
 * Sign in with Apple's tokens, kept only to be revoked (issue 15; App Store Review Guideline
 * 5.1.1(v) and Apple's "Revoke tokens" REST API: an app offering Sign in with Apple revokes the
 * user's tokens when the account is deleted).
 *
 * The app sends Apple's one-time `authorization_code` (expo-apple-authentication's
 * `authorizationCode`) with the ID token. The server exchanges it at Apple's token endpoint
 * ("Generate and validate tokens": grant_type=authorization_code, client_id, client_secret, code)
 * and keeps the refresh token on the identity, encrypted (AES-256-GCM under a key derived from
 * LATCHKEY_SECRET with its own HKDF info, RFC 5869 §3.2; without the secret, development only, in
 * clear as the signing keys are). Deleting the account or unlinking the identity queues a
 * revocation in the same transaction (`queueRevocations`); `ProviderTokenRevoker` sends it with
 * retries, so a deletion never waits for Apple and no revocation is lost to a restart or an outage.
 */
export interface AppleTokenConfig {
  /** The configured provider these tokens belong to (default `apple`). */
  provider: string
  teamId: string
  keyId: string
  /** The Sign in with Apple key (.p8, PKCS #8 PEM, P-256). */
  privateKeyPem: string
  /** Default https://appleid.apple.com/auth/token. */
  tokenEndpoint: string
  /** Default https://appleid.apple.com/auth/revoke. */
  revokeEndpoint: string
}

export const APPLE_TOKEN_ENDPOINT = 'https://appleid.apple.com/auth/token'
export const APPLE_TOKEN_DEFAULTS = { provider: 'apple', tokenEndpoint: APPLE_TOKEN_ENDPOINT, revokeEndpoint: APPLE_REVOKE_ENDPOINT } as const

const CIPHER_INFO = 'latchkey provider-token encryption v1'
const MAX_CODE_LENGTH = 2048

export class AppleTokens {
  readonly #cipher: KeyCipher | undefined

  constructor(
    readonly config: AppleTokenConfig,
    private readonly o: { secret: string | undefined; now: () => Date; fetch?: typeof fetch; timeoutMs?: number; logger?: Logger },
  ) {
    this.#cipher = o.secret ? new KeyCipher(o.secret, CIPHER_INFO) : undefined
  }

  /** Whether tokens of this provider are exchanged and revoked here. */
  handles(providerName: string): boolean {
    return providerName === this.config.provider
  }

  /**
   * Exchanges the app's authorization code for Apple's tokens; returns the refresh token as stored
   * (encrypted). The exchange answers directly over TLS, so its ID token's `sub` and `aud` are
   * checked against the verified sign-in token without a signature check (OpenID Connect Core
   * §3.1.3.7 step 6). A code Apple refuses is the caller's 400; Apple unreachable is a 503.
   */
  async exchange(code: unknown, expected: { subject: string; clientId: string }): Promise<string | null> {
    if (typeof code !== 'string' || code.length === 0 || code.length > MAX_CODE_LENGTH || !/^[\x21-\x7e]+$/.test(code)) {
      throw new HttpError(400, 'invalid_request', `authorization_code must be the code Apple returned (1 to ${MAX_CODE_LENGTH} printable characters)`)
    }
    const c = this.config
    const body = new URLSearchParams({
      client_id: expected.clientId,
      client_secret: await appleClientSecret({ teamId: c.teamId, keyId: c.keyId, privateKeyPem: c.privateKeyPem, clientId: expected.clientId, now: this.o.now }),
      code,
      grant_type: 'authorization_code',
    })
    let res: Response
    try {
      res = await (this.o.fetch ?? fetch)(c.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
      })
    } catch {
      throw new HttpError(503, 'identity_provider_unavailable', "Apple's token endpoint could not be reached; try again")
    }
    const answer = (await res.json().catch(() => undefined)) as { refresh_token?: unknown; id_token?: unknown; error?: unknown } | undefined
    if (res.status >= 500 || answer === undefined) throw new HttpError(503, 'identity_provider_unavailable', `Apple's token endpoint answered ${res.status}; try again`)
    if (answer.error === 'invalid_client') {
      // Our client secret was refused (team id, key id or key wrong, or the client id not this
      // team's): the operator's to fix, not the user's; no account is made meanwhile.
      this.o.logger?.error('Apple refused the client secret at its token endpoint: check LATCHKEY_APPLE_TEAM_ID, LATCHKEY_APPLE_KEY_ID, LATCHKEY_APPLE_PRIVATE_KEY and the client ids')
      throw new HttpError(503, 'identity_provider_unavailable', 'Sign in with Apple is misconfigured on this server; try again later')
    }
    if (res.status !== 200) {
      // invalid_grant: expired (Apple's codes last five minutes), used, or not this app's.
      throw new HttpError(400, 'invalid_grant', 'Apple refused the authorization code; sign in with Apple again')
    }
    let claims: { sub?: unknown; aud?: unknown }
    try {
      claims = decodeJwt(typeof answer.id_token === 'string' ? answer.id_token : '')
    } catch {
      throw new HttpError(503, 'identity_provider_unavailable', "Apple's token endpoint answered without a usable ID token")
    }
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
    if (claims.sub !== expected.subject || !aud.includes(expected.clientId)) {
      throw new HttpError(400, 'invalid_grant', 'the authorization code belongs to another Apple account or app than the ID token')
    }
    if (typeof answer.refresh_token !== 'string' || answer.refresh_token.length === 0) return null
    return this.#seal(expected.clientId, answer.refresh_token)
  }

  #seal(clientId: string, token: string): string {
    return this.#cipher ? this.#cipher.encrypt(`provider-token:${clientId}`, token) : token
  }

  /** The token in clear; throws (without the token) when the secret is not the one it was sealed with. */
  open(clientId: string, stored: string): string {
    if (!stored.startsWith('enc:v1:')) return stored
    if (!this.#cipher) throw new AppleRevocationError('the stored Apple token is encrypted and LATCHKEY_SECRET is not set')
    try {
      return this.#cipher.decrypt(`provider-token:${clientId}`, stored)
    } catch {
      throw new AppleRevocationError('the stored Apple token cannot be decrypted: LATCHKEY_SECRET is not the secret it was encrypted with')
    }
  }

  revoke(clientId: string, stored: string): Promise<void> {
    const c = this.config
    return revokeAppleToken(
      { teamId: c.teamId, keyId: c.keyId, privateKeyPem: c.privateKeyPem, clientId, endpoint: c.revokeEndpoint, now: this.o.now, ...(this.o.fetch ? { fetch: this.o.fetch } : {}) },
      { token: this.open(clientId, stored), tokenTypeHint: 'refresh_token' },
    )
  }
}

/**
 * Queues the revocation of every provider token of the user's identities (or of one identity),
 * inside `trx`: the transaction that deletes the account or unlinks the identity, so the revocation
 * exists if and only if that change committed (the transactional outbox pattern, as email/outbox.ts).
 */
export async function queueRevocations(trx: Transaction<Database>, target: { userId: string; identityId?: string }, now: Date): Promise<number> {
  let q = trx.selectFrom('user_identities').select(['provider', 'provider_client_id', 'provider_token']).where('user_id', '=', target.userId).where('provider_token', 'is not', null)
  if (target.identityId !== undefined) q = q.where('id', '=', target.identityId)
  const rows = await q.execute()
  for (const r of rows) {
    if (!r.provider_token || !r.provider_client_id) continue
    await trx
      .insertInto('provider_token_revocations')
      .values({ id: randomUUID(), provider: r.provider, client_id: r.provider_client_id, token: r.provider_token, created_at: now, next_attempt_at: now, lease_until: null, last_error: null, failed_at: null })
      .execute()
  }
  return rows.length
}

/** Defaults: first retry after 5 s, at most 6 h apart, 40 attempts (about four days), a 2-minute lease, a poll every minute. */
export interface ProviderTokenRevokerOptions extends LeasedQueueOptions {
  db: Kysely<Database>
  tokens: AppleTokens
  now: () => Date
  logger: Logger
}

/**
 * Sends the queued revocations (every server process runs one; each row is claimed by one process
 * under a lease, as the email outbox). A revoked row is deleted at once: the token is kept no longer
 * than needed. Apple answers 200 for a token already invalid (RFC 7009 §2.2), so a repeat after a
 * crash between the answer and the delete is harmless.
 */
export class ProviderTokenRevoker extends LeasedWorker {
  readonly #o: Required<ProviderTokenRevokerOptions>

  constructor(o: ProviderTokenRevokerOptions) {
    const options = { retryBaseMs: 5_000, retryMaxMs: 6 * 3600_000, maxAttempts: 40, leaseMs: 120_000, pollMs: 60_000, ...o }
    super({ logger: o.logger, name: 'provider token revocations', pollMs: options.pollMs })
    this.#o = options
  }

  protected async runOnce(): Promise<number> {
    const { db, now: clock, leaseMs } = this.#o
    const now = clock()
    const leaseUntil = new Date(now.getTime() + leaseMs)
    const claimed = await sql<{ id: string; provider: string; client_id: string; token: string; attempts: number }>`
      update provider_token_revocations set lease_until = ${leaseUntil}, attempts = attempts + 1
      where id in (
        select id from provider_token_revocations
        where failed_at is null and next_attempt_at <= ${now} and (lease_until is null or lease_until <= ${now})
        order by next_attempt_at
        limit 10
        for update skip locked)
      returning id, provider, client_id, token, attempts`.execute(db)
    for (const r of claimed.rows) {
      if (this.closed) {
        await db.updateTable('provider_token_revocations').set({ lease_until: null, attempts: sql`attempts - 1` }).where('id', '=', r.id).where('lease_until', '=', leaseUntil).execute()
        continue
      }
      await this.#revoke(r)
    }
    return claimed.rows.length
  }

  async #revoke(r: { id: string; provider: string; client_id: string; token: string; attempts: number }): Promise<void> {
    const { db, tokens, logger } = this.#o
    try {
      if (!tokens.handles(r.provider)) throw new AppleRevocationError(`no Apple token configuration for provider ${JSON.stringify(r.provider)}`)
      await tokens.revoke(r.client_id, r.token)
    } catch (e) {
      // AppleRevocationError messages name the HTTP status or Apple's error code, never the token.
      const error = (e instanceof AppleRevocationError ? e.message : 'unexpected error').slice(0, 300)
      const now = this.#o.now()
      const giveUp = r.attempts >= this.#o.maxAttempts
      await db
        .updateTable('provider_token_revocations')
        .set({ lease_until: null, last_error: error, next_attempt_at: new Date(now.getTime() + backoffMs(r.attempts, this.#o.retryBaseMs, this.#o.retryMaxMs)), failed_at: giveUp ? now : null })
        .where('id', '=', r.id)
        .execute()
      ;(giveUp ? logger.error : logger.warn)(giveUp ? 'Apple token revocation given up after too many attempts' : 'Apple token revocation failed; will retry', { id: r.id, attempts: r.attempts, error })
      return
    }
    await db.deleteFrom('provider_token_revocations').where('id', '=', r.id).execute()
    logger.info('Apple token revoked', { id: r.id })
  }

  protected async msUntilNextDue(): Promise<number> {
    const row = await this.#o.db
      .selectFrom('provider_token_revocations')
      .select((eb) => eb.fn.min(sql<Date>`greatest(next_attempt_at, coalesce(lease_until, next_attempt_at))`).as('next'))
      .where('failed_at', 'is', null)
      .executeTakeFirst()
    const next = row?.next
    if (!next) return this.#o.pollMs
    return new Date(next).getTime() - this.#o.now().getTime()
  }
}
