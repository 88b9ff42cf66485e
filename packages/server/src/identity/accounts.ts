import { randomBytes, randomUUID } from 'node:crypto'
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/schema.js'
import { HttpError } from '../http/errors.js'
import type { AuthService, Caller, TokenResponse } from '../service.js'
import { audit } from '../store/audit.js'
import { whileSessionLive } from '../store/sessions.js'
import { hitRateLimit } from '../store/rate-limit.js'
import { deleteInTransaction } from '../accounts/accounts.js'
import { whileAccountLive } from '../accounts/store.js'
import { queueRevocations, type AppleTokens } from './apple-tokens.js'
import type { IdTokenVerifier, VerifiedIdToken } from './verify.js'

/** Sign in with Apple's tokens of this server, when configured (identity/apple-tokens.ts). */
export interface ProviderTokens {
  tokens: AppleTokens
  /** Wakes the worker that sends queued revocations. */
  wake(): void
}

type StoredToken = { provider_token: string; provider_client_id: string } | undefined

/**
 * Apple's authorization code, when the app sent one for a provider whose tokens this server keeps:
 * exchanged now (a refused code is a 400 before any account is made), the refresh token stored.
 */
async function exchangeCode(providerTokens: ProviderTokens | undefined, t: VerifiedIdToken, code: unknown): Promise<StoredToken> {
  if (code === undefined || code === null || !providerTokens?.tokens.handles(t.provider.name)) return undefined
  const token = await providerTokens.tokens.exchange(code, { subject: t.subject, clientId: t.clientId })
  return token === null ? undefined : { provider_token: token, provider_client_id: t.clientId }
}

/** Keeps the newest Apple token of an identity that already exists. */
async function saveToken(db: Kysely<Database>, t: VerifiedIdToken, stored: StoredToken): Promise<void> {
  if (!stored) return
  await db.updateTable('user_identities').set(stored).where('issuer', '=', t.provider.issuer).where('subject', '=', t.subject).execute()
}

/**
 * Accounts and identities (issue 15): an identity is (issuer, sub) (OpenID Connect Core §2: `sub`
 * is unique only within its issuer; never the email, §5.7). A first sign-in creates an account
 * with no password; an identity joins an existing account ONLY through the signed-in link call,
 * never by matching the email (pre-account takeover: an attacker who controls an IdP account
 * with the victim's address would otherwise be let in; OWASP ASVS 5.0 V6.8 / "pre-hijacking").
 */

export interface IdentityView {
  id: string
  provider: string
  email: string | null
  createdAt: string
}

/**
 * Records the token as used until it expires (OWASP: an ID token is a one-time credential here);
 * false when it was used already. The primary key is the check, shared by every process.
 */
async function consume(db: Kysely<Database> | Transaction<Database>, t: VerifiedIdToken, now: Date): Promise<boolean> {
  // Only rows past any clock skew: a token is accepted until exp + skew (verify.ts), and its
  // record must outlive that, or the token could be replayed in the skew window after exp.
  await db.deleteFrom('id_token_uses').where('expires_at', '<', new Date(now.getTime() - 3600_000)).execute()
  const r = await db.insertInto('id_token_uses').values({ token_hash: t.tokenHash, expires_at: t.expiresAt }).onConflict((oc) => oc.doNothing()).executeTakeFirst()
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1
}

/**
 * Anti-automation per client address (OWASP ASVS 5.0 6.1.1): every ID-token attempt (sign-in,
 * link, deletion) counts against sign-in's per-address rule, on a key of its own; each costs a
 * signature check and may cost a JWKS fetch.
 */
async function limitAttempts(service: AuthService, ip: string | null, now: Date): Promise<void> {
  const limits = service.o.rateLimit
  if (!limits) return
  const { count, retryAfter } = await hitRateLimit(service.o.db, `id-token-ip:${ip ?? 'unknown'}`, limits.perIp, now)
  if (count > limits.perIp.max) throw new HttpError(429, 'rate_limited', 'too many attempts; try again later', { 'Retry-After': String(retryAfter) })
}

async function verifyOnce(verifier: IdTokenVerifier, db: Kysely<Database>, idToken: unknown, nonce: unknown, now: Date): Promise<VerifiedIdToken> {
  const t = await verifier.verify(idToken, nonce)
  if (!(await consume(db, t, now))) throw new HttpError(401, 'invalid_id_token', 'the ID token was already used; sign in with the provider again')
  return t
}

const sanitizeName = (name: unknown): string | null => {
  if (typeof name !== 'string') return null
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  const n = name.trim().replace(/[\u0000-\u001f\u007f]/g, '')
  return n.length > 0 && n.length <= 200 ? n : null
}

/** POST /auth/id-token: the same session and token pair as password sign-in. */
export async function signInWithIdToken(
  service: AuthService,
  verifier: IdTokenVerifier,
  input: { idToken: unknown; nonce: unknown; name?: unknown; device: string | null; ip: string | null; audience?: string; dpopJkt?: string | undefined; authorizationCode?: unknown; providerTokens?: ProviderTokens | undefined },
): Promise<{ pair: TokenResponse; created: boolean }> {
  const db = service.o.db
  const now = service.o.now()
  await limitAttempts(service, input.ip, now)
  const t = await verifyOnce(verifier, db, input.idToken, input.nonce, now)
  const stored = await exchangeCode(input.providerTokens, t, input.authorizationCode)
  const known = await db.selectFrom('user_identities').select(['user_id']).where('issuer', '=', t.provider.issuer).where('subject', '=', t.subject).executeTakeFirst()
  if (known) {
    await saveToken(db, t, stored)
    const pair = await service.startSession({ userId: known.user_id, device: input.device, dpopJkt: input.dpopJkt, ip: input.ip, audience: input.audience, type: 'identity_sign_in', detail: { provider: t.provider.name } })
    return { pair, created: false }
  }
  if (t.unverifiedEmail) throw new HttpError(403, 'email_not_verified', 'the identity provider has not verified this email address; an account cannot be created with it')
  if (!t.verifiedEmail) throw new HttpError(403, 'email_not_verified', 'the identity provider gave no verified email address; an account cannot be created without one')
  const email = t.verifiedEmail
  const taken = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()
  if (taken) {
    // Taken by this identity's own first sign-in a moment ago (it committed after `known` was read)?
    const winner = await db.selectFrom('user_identities').select(['user_id']).where('issuer', '=', t.provider.issuer).where('subject', '=', t.subject).executeTakeFirst()
    if (!winner) throw accountExists()
    await saveToken(db, t, stored)
    const pair = await service.startSession({ userId: winner.user_id, device: input.device, dpopJkt: input.dpopJkt, ip: input.ip, audience: input.audience, type: 'identity_sign_in', detail: { provider: t.provider.name } })
    return { pair, created: false }
  }
  // The provider verified the address (checked above): `email_verified` (issue 13) is true from the start.
  // Apple gives the user's name only on the first authorization, and outside the ID token: the
  // app sends it as `name`, kept only here (when the identity is created), ignored afterwards.
  const userId = await db
    .transaction()
    .execute(async (trx) => {
      const user = await trx.insertInto('users').values({ id: randomUUID(), email, password_hash: null, created_at: now, email_verified: true }).onConflict((oc) => oc.column('email').doNothing()).returning('id').executeTakeFirst()
      if (!user) return undefined
      const linked = await trx
        .insertInto('user_identities')
        .values({ id: randomBytes(16).toString('base64url'), issuer: t.provider.issuer, subject: t.subject, user_id: user.id, provider: t.provider.name, email, name: sanitizeName(input.name), created_at: now, ...stored })
        .onConflict((oc) => oc.columns(['issuer', 'subject']).doNothing())
        .executeTakeFirst()
      if (Number(linked.numInsertedOrUpdatedRows ?? 0n) !== 1) throw new IdentityRace()
      return user.id
    })
    .catch((e: unknown) => {
      if (!(e instanceof IdentityRace)) throw e
      return undefined
    })
    .then(async (id) => {
      if (id !== undefined) return id
      // The email was taken while this ran (PostgreSQL: the other insert committed first), or the
      // identity was: if the same identity won, sign in to its account, else the email is another's.
      const winner = await db.selectFrom('user_identities').select(['user_id']).where('issuer', '=', t.provider.issuer).where('subject', '=', t.subject).executeTakeFirst()
      if (winner) return { existing: winner.user_id }
      throw accountExists()
    })
  if (typeof userId === 'object') {
    // The same identity's first sign-in at the same moment (another token) made the account.
    await saveToken(db, t, stored)
    const pair = await service.startSession({ userId: userId.existing, device: input.device, dpopJkt: input.dpopJkt, ip: input.ip, audience: input.audience, type: 'identity_sign_in', detail: { provider: t.provider.name } })
    return { pair, created: false }
  }
  const pair = await service.startSession({ userId, device: input.device, dpopJkt: input.dpopJkt, ip: input.ip, audience: input.audience, type: 'identity_sign_up', detail: { provider: t.provider.name, private_email: t.privateEmail } })
  return { pair, created: true }
}

class IdentityRace extends Error {}

const accountExists = () =>
  new HttpError(409, 'account_exists_sign_in_to_link', 'an account with this email already exists; sign in to it (with its password) and link this identity from the account settings')

/** POST /auth/identities: links the identity of an ID token to the signed-in account (a live session). */
export async function linkIdentity(
  service: AuthService,
  verifier: IdTokenVerifier,
  caller: Caller,
  input: { idToken: unknown; nonce: unknown; ip: string | null; authorizationCode?: unknown; providerTokens?: ProviderTokens | undefined },
): Promise<IdentityView> {
  const db = service.o.db
  const now = service.o.now()
  await limitAttempts(service, input.ip, now)
  const t = await verifyOnce(verifier, db, input.idToken, input.nonce, now)
  const existing = await db.selectFrom('user_identities').selectAll().where('issuer', '=', t.provider.issuer).where('subject', '=', t.subject).executeTakeFirst()
  if (existing) {
    if (existing.user_id !== caller.userId) throw new HttpError(409, 'identity_in_use', 'this identity already signs in to another account')
    await saveToken(db, t, await exchangeCode(input.providerTokens, t, input.authorizationCode))
    return view(existing)
  }
  const stored = await exchangeCode(input.providerTokens, t, input.authorizationCode)
  const row = {
    id: randomBytes(16).toString('base64url'),
    issuer: t.provider.issuer,
    subject: t.subject,
    user_id: caller.userId,
    provider: t.provider.name,
    email: t.verifiedEmail,
    name: null,
    created_at: now,
    ...stored,
  }
  const done = await whileSessionLive(db, { id: caller.sessionId, userId: caller.userId, life: service.o.life, now }, async (trx) => {
    const r = await trx.insertInto('user_identities').values(row).onConflict((oc) => oc.columns(['issuer', 'subject']).doNothing()).executeTakeFirst()
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1
  })
  if (done === undefined) throw new HttpError(401, 'invalid_token', 'the session has ended')
  if (!done.value) throw new HttpError(409, 'identity_in_use', 'this identity already signs in to another account')
  await audit(db, { type: 'identity_linked', userId: caller.userId, sessionId: caller.sessionId, ip: input.ip, now, detail: { provider: t.provider.name } })
  return view(row)
}

function view(r: { id: string; provider: string; email: string | null; created_at: Date }): IdentityView {
  return { id: r.id, provider: r.provider, email: r.email, createdAt: r.created_at.toISOString() }
}

export async function listIdentities(db: Kysely<Database>, userId: string): Promise<IdentityView[]> {
  const rows = await db.selectFrom('user_identities').select(['id', 'provider', 'email', 'created_at']).where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute()
  return rows.map(view)
}

/** DELETE /auth/identities/:id: refused when it is the account's last way to sign in (no password, no other identity). */
export async function unlinkIdentity(service: AuthService, caller: Caller, id: string, ip: string | null, providerTokens?: ProviderTokens): Promise<void> {
  const db = service.o.db
  const now = service.o.now()
  const result = await db.transaction().execute(async (trx) => {
    // The user row locked: two unlinks at once cannot each see the other identity and remove both.
    const user = await trx.selectFrom('users').select(['id', 'password_hash']).where('id', '=', caller.userId).forUpdate().executeTakeFirst()
    if (!user) return 'gone' as const
    const ids = await trx.selectFrom('user_identities').select(['id', 'provider']).where('user_id', '=', caller.userId).execute()
    const target = ids.find((r) => r.id === id)
    if (!target) return 'missing' as const
    if (user.password_hash === null && ids.length === 1) return 'last' as const
    // Apple's tokens of the identity are revoked once this commits (queued in this transaction).
    await queueRevocations(trx, { userId: caller.userId, identityId: id }, now)
    await trx.deleteFrom('user_identities').where('id', '=', id).where('user_id', '=', caller.userId).execute()
    return target.provider
  })
  if (result === 'gone') throw new HttpError(401, 'invalid_token', 'the account no longer exists')
  if (result === 'missing') throw new HttpError(404, 'not_found', 'no such identity on this account')
  if (result === 'last') throw new HttpError(409, 'last_sign_in_method', 'this is the only way to sign in to this account; link another identity first')
  providerTokens?.wake()
  await audit(db, { type: 'identity_unlinked', userId: caller.userId, sessionId: caller.sessionId, ip, now, detail: { provider: result } })
}

/**
 * POST /auth/delete-account/id-token: deletes the caller's account with a fresh ID token of one of
 * its identities as the proof of ownership. An account made by a provider has no password to give
 * POST /auth/delete-account, and App Store Review Guideline 5.1.1(v) asks that every account can be
 * deleted in the app. The same transaction as password deletion (accounts/accounts.ts); the ended
 * sessions are announced to every process.
 */
export async function deleteAccountWithIdToken(service: AuthService, verifier: IdTokenVerifier, caller: Caller, input: { idToken: unknown; nonce: unknown; ip: string | null }): Promise<{ signedOut: number }> {
  const db = service.o.db
  const now = service.o.now()
  await limitAttempts(service, input.ip, now)
  const t = await verifyOnce(verifier, db, input.idToken, input.nonce, now)
  const done = await whileAccountLive(db, { userId: caller.userId, sessionId: caller.sessionId, life: service.o.life, now }, async (trx, user) => {
    const identity = await trx.selectFrom('user_identities').select(['user_id']).where('issuer', '=', t.provider.issuer).where('subject', '=', t.subject).executeTakeFirst()
    if (!identity || identity.user_id !== caller.userId) return undefined
    return deleteInTransaction(service, trx, user, 'id_token', now)
  })
  if (!done) throw new HttpError(401, 'invalid_token', 'the session has ended')
  if (!done.value) throw new HttpError(403, 'invalid_credentials', 'this identity is not linked to the account')
  service.o.revocations.ended(done.value)
  service.onAccountDeleted?.committed()
  return { signedOut: done.value.length }
}
