import type { Kysely, Transaction } from 'kysely'
import type { Database, SessionRow } from './db/schema.js'
import { DEFAULT_CLOCK_TOLERANCE, signAccessToken, verifyAccessTokenWith, keyStoreResolver, InvalidAccessTokenError, type AccessTokenClaims } from './crypto/jwt.js'
import { VerifiedTokens } from './crypto/verified-tokens.js'
import type { KeyStore } from './crypto/keys.js'
import { BusyError, createKeyedMutex, type PasswordHasher } from './crypto/password.js'
import { formatRefreshToken, parseRefreshToken, verifyRefreshMac, type RefreshTokenParts } from './crypto/refresh-token.js'
import { HttpError, invalidGrant, invalidToken } from './http/errors.js'
import { audit, type AuditInput, type AuditType } from './store/audit.js'
import { firstInWindow, hitRateLimit, releaseRateLimit, type RateHit, type RateRule } from './store/rate-limit.js'
import { decideRefresh, type RefreshOutcome } from './refresh-rule.js'
import { createSession, getSession, touchSession, whileSessionLive, isLive, listLiveSessions, revokeSession, revokeUserSessions, rotateSession, type Lifetimes } from './store/sessions.js'
import { pruneExpired, type PruneCounts } from './store/retention.js'
import { SessionSecrets } from './store/session-secrets.js'
import { findCredentials, findUserIdByEmail, insertUser } from './store/users.js'
import { rolesOf } from './roles/store.js'
import { createHmac } from 'node:crypto'
import { LiveSessionCheck } from './feed/live-session.js'
import { UserFacts } from './feed/user-facts.js'
import type { UserFactsRow } from './store/users-changed.js'
import { enforcePasswordPolicy, type PasswordPolicyOptions } from './accounts/password-policy.js'
import type { RevocationFeed } from './feed/revocation-feed.js'
import { DpopBinding, type AccessCredentials } from './dpop/binding.js'

/** RFC 6749 §5.1 successful token response. */
export interface TokenResponse {
  access_token: string
  /** RFC 9449 §5: 'DPoP' when the access token is bound to a DPoP key. */
  token_type: 'Bearer' | 'DPoP'
  expires_in: number
  refresh_token: string
}

export interface RateLimitOptions {
  /**
   * Failed sign-ins per account (email) from one client address per window; also sign-up attempts
   * per email. Default 10 / 15 min. Per address, so guesses from elsewhere cannot lock the owner
   * out (ASVS 5.0 6.1.1: anti-automation must not allow malicious account lockout).
   */
  perAccount: RateRule
  /**
   * Failed sign-ins per account from all addresses together per window. Default 100 / 15 min
   * (NIST SP 800-63B §5.2.2: no more than 100 consecutive failed attempts on one account).
   */
  perAccountTotal: RateRule
  /** Sign-in + sign-up attempts per client IP per window. Default 50 / 15 min. */
  perIp: RateRule
}

export const DEFAULT_RATE_LIMITS: RateLimitOptions = {
  perAccount: { max: 10, windowSeconds: 900 },
  perAccountTotal: { max: 100, windowSeconds: 900 },
  perIp: { max: 50, windowSeconds: 900 },
}

export interface Logger {
  info(message: string, data?: Record<string, unknown>): void
  warn(message: string, data?: Record<string, unknown>): void
  error(message: string, data?: Record<string, unknown>): void
}

export interface ServiceOptions {
  db: Kysely<Database>
  keys: KeyStore
  /** Key of the refresh-token MAC (the audit log's account digests use a key derived from it). */
  macKey: Buffer
  /** Argon2id behind this app's bounded queue (see createPasswordHasher). */
  passwords: PasswordHasher
  issuer: string
  audience: string
  accessTtl: number
  refreshGrace: number
  life: Lifetimes
  rateLimit: RateLimitOptions | false
  /**
   * Protected endpoints (/me, sessions, sign-out) also require the access token's session to be
   * live, `isLive` (from the revocation feed while it is live, else one primary-key read). Default true. Stateless resource servers using
   * `verifyAccessToken` cannot do this; there an access token lives until it expires.
   */
  checkSessionOnAccess: boolean
  /**
   * The sessions ended recently (feed/revocation-feed.ts): while it is live, the session check
   * needs no read of the session row; sessions this service ends are reported to it at once.
   */
  revocations: RevocationFeed
  /** Seconds that audit events and ended sessions are kept (see `prune`). */
  retention: number
  /** The rules a new password must meet (accounts/password-policy.ts). */
  passwordPolicy: PasswordPolicyOptions
  now: () => Date
  logger: Logger
  /**
   * RFC 9449 §8: the token endpoints (sign-up, sign-in, refresh) require a server nonce in DPoP
   * proofs (answering `use_dpop_nonce` with one otherwise). Default true. Protected resources never do.
   */
  dpopNonce?: boolean
}

export interface Caller {
  userId: string
  sessionId: string
  claims: AccessTokenClaims
}

export interface AuthenticateOptions {
  /** The token's session may have ended (own sign-out, idempotent). Ignored with `live`. */
  allowSignedOut?: boolean
  /** The token's session must be live, whatever `checkSessionOnAccess` says (session-ending requests). */
  live?: boolean
}

/** Session secrets kept per process for the one-statement refresh (about 150 bytes each). */
const SESSION_SECRETS_KEPT = 50_000

const normalizeEmail = (email: string) => email.trim().toLowerCase()

type LimitScope = 'ip' | 'account' | 'account_total' | 'signup'
/** Why a password is checked: signing in, or the fresh proof before a password change or an account deletion. */
export type PasswordPurpose = 'sign_in' | 'change_password' | 'delete_account'
interface Held {
  hit: RateHit
  rule: RateRule
}

export class AuthService {
  /** One password verification per account at a time in this process (finding: parallel bursts passed the limit). */
  readonly #perAccount = createKeyedMutex()
  readonly #digestKey: Buffer
  readonly #live: LiveSessionCheck
  /** What /me answers about a user, kept while the revocation feed is live (feed/user-facts.ts). */
  readonly #users: UserFacts
  readonly #verified = new VerifiedTokens()
  /** Secrets of sessions this process has seen: a refresh checks its MAC first and rotates in one statement. */
  readonly #secrets = new SessionSecrets(SESSION_SECRETS_KEPT)
  /** DPoP (RFC 9449): proof verification, nonces and the key binding of access tokens. */
  readonly dpop: DpopBinding

  /** Issue 13: work done in the sign-up's transaction (the verification email), and after it commits. */
  onSignUp: { inTransaction(trx: Transaction<Database>, user: { id: string; email: string }, ip: string | null, now: Date): Promise<void>; committed(): void } | undefined

  /**
   * Issue 15: work done in an account deletion's transaction (queueing the revocation of Apple's
   * tokens, identity/apple-tokens.ts), and after it commits (waking the worker that sends them).
   */
  onAccountDeleted: { inTransaction(trx: Transaction<Database>, userId: string, now: Date): Promise<void>; committed(): void } | undefined

  /** Issue 13: sign-in refused until the email is verified (set from the configuration by email/start.ts). */
  requireEmailVerification = false

  constructor(readonly o: ServiceOptions) {
    this.#digestKey = createHmac('sha256', o.macKey).update('latchkey-audit-account-v1').digest()
    this.dpop = new DpopBinding({ db: o.db, serverKey: o.macKey, issuer: o.issuer, now: o.now, requireNonce: o.dpopNonce ?? true })
    this.#live = new LiveSessionCheck({ db: o.db, feed: o.revocations, life: o.life, refreshGrace: o.refreshGrace, now: o.now })
    this.#users = new UserFacts({ db: o.db, feed: o.revocations })
  }

  #audit(e: Omit<AuditInput, 'now'> & { now?: Date }): Promise<void> {
    return audit(this.o.db, { now: this.o.now(), ...e })
  }

  /** A pair whose access token is for `audience` (an RFC 8707 resource; default this server's own). */
  async #pair(session: SessionRow, now: Date, audience = this.o.audience, facts?: { roles: unknown; email_verified: unknown }): Promise<TokenResponse> {
    this.#secrets.set(session.id, session.secret)
    const known = facts && Array.isArray(facts.roles) && facts.roles.every((r) => typeof r === 'string') && typeof facts.email_verified === 'boolean'
    const { roles, emailVerified } = known ? { roles: facts.roles as string[], emailVerified: facts.email_verified as boolean } : await this.#tokenFacts(session.user_id)
    const access = await signAccessToken(this.o.keys, {
      issuer: this.o.issuer,
      audience,
      userId: session.user_id,
      sessionId: session.id,
      // Issue 15: the user's roles as they are now; a change reaches the claim at the next refresh.
      roles,
      // Issue 13: likewise whether the address was verified.
      emailVerified,
      ttlSeconds: this.o.accessTtl,
      now,
      dpopJkt: session.dpop_jkt,
    })
    return {
      access_token: access,
      token_type: session.dpop_jkt ? 'DPoP' : 'Bearer',
      expires_in: this.o.accessTtl,
      refresh_token: formatRefreshToken(this.o.macKey, session.id, session.counter, session.secret),
    }
  }

  /** What an access token says about its user besides the ids: roles and `email_verified` (one read). */
  async #tokenFacts(userId: string): Promise<{ roles: string[]; emailVerified: boolean }> {
    const [roles, user] = await Promise.all([
      rolesOf(this.o.db, userId),
      this.o.db.selectFrom('users').select('email_verified').where('id', '=', userId).executeTakeFirst(),
    ])
    return { roles, emailVerified: user?.email_verified ?? false }
  }

  /** 503 before any database work when the password queue is already full (it would refuse this request's hash anyway). */
  refuseIfBusy(): void {
    try {
      this.o.passwords.refuseIfBusy()
    } catch (e) {
      busy(e)
    }
  }

  /** Counts an attempt (every one, refused or not) and refuses it over the limit. */
  async #limit(scope: LimitScope, key: string, rule: RateRule, now: Date, ip: string | null, email?: string): Promise<void> {
    const { count, retryAfter } = await hitRateLimit(this.o.db, key, rule, now)
    if (count > rule.max) await this.#tooMany(scope, key, rule, retryAfter, now, ip, email)
  }

  /**
   * Counts a sign-in attempt before its password is checked, so that parallel attempts cannot all
   * pass a limit read before any of them failed; over the limit the hit is given back (a refused
   * attempt never reaches the hash) and the attempt refused. Returns the hit, to be given back if
   * the attempt does not end as a failure.
   */
  async #reserve(key: string, rule: RateRule, now: Date): Promise<{ held: Held } | { refused: number }> {
    const hit = await hitRateLimit(this.o.db, key, rule, now)
    if (hit.count <= rule.max) return { held: { hit, rule } }
    await releaseRateLimit(this.o.db, hit, rule)
    return { refused: hit.withoutThisHit.retryAfter }
  }

  /**
   * 429 with Retry-After. At most one `rate_limited` audit row per limited key per window (not one
   * per refused request: a flood must not fill the log), naming the account by user id, or for an
   * email with no account by a keyed digest of it (the log never holds addresses nobody registered).
   */
  async #tooMany(scope: LimitScope, key: string, rule: RateRule, retryAfter: number, now: Date, ip: string | null, email?: string): Promise<never> {
    if (await firstInWindow(this.o.db, `audited:${key}`, rule, now)) {
      let userId: string | null = null
      const detail: Record<string, unknown> = { scope }
      if (email !== undefined) {
        userId = (await findUserIdByEmail(this.o.db, email)) ?? null
        if (!userId) detail.account = this.accountDigest(email)
      }
      await this.#audit({ type: 'rate_limited', userId, ip, detail, now })
    }
    throw new HttpError(429, 'rate_limited', 'too many attempts; try again later', { 'Retry-After': String(retryAfter) })
  }

  /** HMAC-SHA256 of a normalized email under a key derived from the server key (128 bits, base64url). */
  accountDigest(email: string): string {
    return createHmac('sha256', this.#digestKey).update(normalizeEmail(email)).digest().subarray(0, 16).toString('base64url')
  }

  /** `dpopJkt`: the thumbprint of a valid DPoP proof's key (the route checked it): the session is bound to it. */
  async signUp(input: { email: string; password: string; device: string | null; ip: string | null; audience?: string; dpopJkt?: string | undefined }): Promise<TokenResponse> {
    this.refuseIfBusy()
    const now = this.o.now()
    const email = normalizeEmail(input.email)
    // NIST SP 800-63B-4 §3.1.1.2 (accounts/password-policy.ts): refused before any limit or hash.
    const password = await enforcePasswordPolicy(input.password, { ...this.o.passwordPolicy, email })
    if (this.o.rateLimit) {
      await this.#limit('ip', `ip:${input.ip ?? 'unknown'}`, this.o.rateLimit.perIp, now, input.ip)
      await this.#limit('signup', `signup:${email}`, this.o.rateLimit.perAccount, now, input.ip, email)
    }
    // Hash before looking at the table, so a taken email answers in the same time as a new one.
    const passwordHash = await this.o.passwords.hash(password).catch(busy)
    // Issue 13: the verification message is queued in the transaction that creates the account (email/flows.ts).
    const hook = this.onSignUp
    const user = hook
      ? await this.o.db.transaction().execute(async (trx) => {
          const created = await insertUser(trx, { email, passwordHash, now })
          if (created) await hook.inTransaction(trx, { id: created.id, email }, input.ip, now)
          return created
        })
      : await insertUser(this.o.db, { email, passwordHash, now })
    if (user) hook?.committed()
    if (!user) throw new HttpError(409, 'account_exists', 'an account with this email already exists')
    const session = await createSession(this.o.db, { userId: user.id, device: input.device, now, dpopJkt: input.dpopJkt })
    await this.#audit({ type: 'sign_up', userId: user.id, sessionId: session.id, ip: input.ip, now })
    return this.#pair(session, now, input.audience)
  }

  async signIn(input: { email: string; password: string; device: string | null; ip: string | null; audience?: string; dpopJkt?: string | undefined }): Promise<TokenResponse> {
    this.refuseIfBusy()
    const now = this.o.now()
    const user = await this.checkPassword({ email: input.email, password: input.password, ip: input.ip, now, purpose: 'sign_in' })
    // Issue 13: with LATCHKEY_REQUIRE_EMAIL_VERIFICATION, no session before the address is proved (after the password, so it tells nothing to a guesser).
    if (this.requireEmailVerification && !(await this.o.db.selectFrom('users').select('email_verified').where('id', '=', user.id).executeTakeFirst())?.email_verified) {
      throw new HttpError(403, 'email_not_verified', 'confirm your email address first (the code sent to it)')
    }
    // The account can be deleted between the check and the insert (a foreign-key violation): then
    // the credentials are no longer valid.
    const session = await createSession(this.o.db, { userId: user.id, device: input.device, now, dpopJkt: input.dpopJkt }).catch((e: unknown) => {
      if ((e as { code?: unknown } | null)?.code === '23503') throw new HttpError(401, 'invalid_credentials', 'the email or password is incorrect')
      throw e
    })
    await this.#audit({ type: 'sign_in', userId: user.id, sessionId: session.id, ip: input.ip, now })
    return this.#pair(session, now, input.audience)
  }

  /**
   * The password check of sign-in, also the fresh proof of ownership that changing the password
   * and deleting the account ask for: the same limits and the same counters (a guess through
   * either counts against sign-in's budget), one Argon2id verification, a dummy one for an unknown
   * account. Returns the account and the hash it was checked against; a wrong password is audited
   * (`sign_in_failed`, with the purpose) and answered 401 at sign-in, 403 for a signed-in caller
   * (whose access token is fine: a 401 would make a client refresh and replay the guess).
   */
  async checkPassword(input: { email: string; password: string; ip: string | null; now: Date; purpose: PasswordPurpose }): Promise<{ id: string; password_hash: string }> {
    const { now } = input
    const email = normalizeEmail(input.email)
    const limits = this.o.rateLimit
    const held: Held[] = []
    const giveBack = () => Promise.all(held.splice(0).map((h) => releaseRateLimit(this.o.db, h.hit, h.rule)))
    if (limits) {
      await this.#limit('ip', `ip:${input.ip ?? 'unknown'}`, limits.perIp, now, input.ip)
      // Failures count per (account, address) and per account over all addresses, each attempt
      // before its password is checked (ASVS 5.0 6.1.1, NIST SP 800-63B §5.2.2; see RateLimitOptions).
      for (const [scope, key, rule] of [
        ['account', `account-ip:${JSON.stringify([email, input.ip ?? 'unknown'])}`, limits.perAccount],
        ['account_total', `account:${email}`, limits.perAccountTotal],
      ] as const) {
        const r = await this.#reserve(key, rule, now)
        if ('held' in r) held.push(r.held)
        else {
          await giveBack()
          await this.#tooMany(scope, key, rule, r.refused, now, input.ip, email)
        }
      }
    }
    const check = async () => {
      const user = await findCredentials(this.o.db, email)
      // Unknown account, or one without a password (made by an identity provider, identity/):
      // verify against a dummy hash so every path costs one Argon2id verification, and never
      // accept it (no password, empty or not, signs in to an account that has none).
      const hash = user?.password_hash ?? null
      const ok = (await this.o.passwords.verify(hash ?? (await this.o.passwords.dummyHash()), input.password)) && hash !== null
      return { user: user && hash !== null ? { id: user.id, password_hash: hash } : undefined, ok, known: user }
    }
    let checked: Awaited<ReturnType<typeof check>>
    try {
      // One verification per account at a time (with limits on): a burst queues here instead of
      // taking every hashing slot.
      checked = await (limits ? this.#perAccount.run(email, check, this.o.passwords.queueTimeoutMs) : check())
    } catch (e) {
      // Not answered (server busy, database down): not a failed guess either.
      await giveBack()
      busy(e)
    }
    const { user, ok, known } = checked
    if (!user || !ok) {
      const signIn = input.purpose === 'sign_in'
      await this.#audit({ type: 'sign_in_failed', userId: known?.id ?? null, ip: input.ip, now, ...(signIn ? {} : { detail: { purpose: input.purpose } }) })
      if (signIn) throw new HttpError(401, 'invalid_credentials', 'the email or password is incorrect')
      throw new HttpError(403, 'invalid_credentials', 'the password is incorrect')
    }
    await giveBack()
    return user
  }

  /**
   * A new session of an account whose owner was authenticated elsewhere (an identity provider's
   * ID token, identity/): the same session and token pair as password sign-in, audited as `type`.
   */
  async startSession(input: { userId: string; device: string | null; ip: string | null; audience?: string; type: AuditType; detail?: Record<string, unknown>; dpopJkt?: string | undefined }): Promise<TokenResponse> {
    const now = this.o.now()
    const session = await createSession(this.o.db, { userId: input.userId, device: input.device, now, dpopJkt: input.dpopJkt }).catch((e: unknown) => {
      if ((e as { code?: unknown } | null)?.code === '23503') throw new HttpError(401, 'invalid_credentials', 'the account no longer exists')
      throw e
    })
    await this.#audit({ type: input.type, userId: input.userId, sessionId: session.id, ip: input.ip, now, ...(input.detail ? { detail: input.detail } : {}) })
    return this.#pair(session, now, input.audience)
  }

  /** Looks a refresh token up and checks its MAC; undefined for anything not issued by us. */
  async #authenticRefresh(token: unknown): Promise<{ parts: RefreshTokenParts; session: SessionRow } | undefined> {
    const parts = parseRefreshToken(token)
    return parts ? this.#authenticParts(parts) : undefined
  }

  /** `#authenticRefresh` for a token already parsed; remembers the secret of an authentic one. */
  async #authenticParts(parts: RefreshTokenParts): Promise<{ parts: RefreshTokenParts; session: SessionRow } | undefined> {
    const session = await getSession(this.o.db, parts.sessionId)
    if (!session || !verifyRefreshMac(this.o.macKey, parts, session.secret)) return undefined
    this.#secrets.set(session.id, session.secret)
    return { parts, session }
  }

  /**
   * RFC 6749 §6 refresh with rotation and reuse detection (RFC 9700 §4.14.2); `decideRefresh`
   * says what the token means for its session (refresh-rule.ts):
   * - `rotate`: the session rotates in one conditional UPDATE and the caller gets a new pair; a
   *   request that loses that race decides again on the row as the winner left it;
   * - `grace`: the previous token within `refreshGrace` seconds of that rotation gets the current
   *   pair (a lost response or a concurrent retry must not sign the user out);
   * - `reuse`: any other authentic token means a copy is in someone else's hands: the whole
   *   session is revoked and `refresh_reuse_detected` audited;
   * - `dead`: the session ended; refused, nothing changes.
   * A token that fails the MAC check is rejected without touching any session.
   * When this process already knows the session's secret (it issued or checked one of its tokens;
   * the secret never changes) the MAC is checked first and the rotation tried at once: the UPDATE's
   * WHERE (this counter, live session) is exactly `decideRefresh` saying `rotate`, so a refresh is
   * one statement; any other case reads the row and decides as below.
   * `audience` (an RFC 8707 resource the caller has checked) only names the new access token's `aud`.
   * `proofJkt`: the key thumbprint of the request's valid DPoP proof (the route checked it). A
   * session bound to a key rotates only with a proof by that key, its previous token gets the
   * current pair at any time, and without such a proof the answer is `unproven` (refused, audited,
   * nothing revoked); see refresh-rule.ts.
   */
  async refresh(token: unknown, ip: string | null, audience?: string, proofJkt?: string): Promise<TokenResponse> {
    const parts = parseRefreshToken(token)
    if (!parts) throw invalidGrant()
    const now = this.o.now()
    const decide = (session: SessionRow | undefined) =>
      decideRefresh({ presentedCounter: parts.counter, session, now, graceSeconds: this.o.refreshGrace, life: this.o.life, proofJkt })
    let current: SessionRow | undefined
    let outcome: RefreshOutcome
    const known = this.#secrets.get(parts.sessionId)
    if (known !== undefined) {
      if (!verifyRefreshMac(this.o.macKey, parts, known)) throw invalidGrant()
      outcome = 'rotate' // tried; the UPDATE decides
    } else {
      const found = await this.#authenticParts(parts)
      if (!found) throw invalidGrant()
      current = found.session
      outcome = decide(current)
    }
    if (outcome === 'rotate') {
      // The `refresh` audit row is written by the rotating statement itself.
      const rotated = await rotateSession(this.o.db, { id: parts.sessionId, counter: parts.counter, now, life: this.o.life, ip, proofJkt })
      if (rotated) return this.#pair(rotated, now, audience, rotated)
      // Another request rotated (or ended) the session since it was read, or this token is not the current one.
      current = await getSession(this.o.db, parts.sessionId)
      outcome = decide(current)
    }
    if (!current) throw invalidGrant()
    switch (outcome) {
      case 'grace': {
        // A bound session's grace may come long after the rotation: it counts as use (touchSession).
        const row = current.dpop_jkt ? await touchSession(this.o.db, { id: current.id, counter: current.counter, now, life: this.o.life }) : current
        if (!row) throw invalidGrant() // rotated or ended meanwhile: the retry is answered as a lost race
        await this.#audit({ type: 'refresh_grace', userId: current.user_id, sessionId: current.id, ip, detail: { counter: current.counter }, now })
        return this.#pair(row, now, audience)
      }
      case 'reuse':
        if (await revokeSession(this.o.db, current.id, 'reuse', now)) {
          this.o.revocations.ended([current.id])
          await this.#audit({ type: 'refresh_reuse_detected', userId: current.user_id, sessionId: current.id, ip, detail: { presented: parts.counter, current: current.counter }, now })
          this.o.logger.warn('refresh token reuse detected; session revoked', { sessionId: current.id })
        }
        throw invalidGrant()
      case 'unproven':
        await this.#audit({ type: 'dpop_proof_refused', userId: current.user_id, sessionId: current.id, ip, detail: { presented: parts.counter, proof: proofJkt ? 'other key' : 'none' }, now })
        throw this.dpop.tokenEndpointError('a refresh token of a DPoP-bound session needs a valid DPoP proof by its key')
      case 'rotate': // the UPDATE has just refused this counter: not a reuse, not answered either
      case 'dead':
        throw invalidGrant()
    }
  }

  /**
   * RFC 7009: revoking an authentic refresh token (any counter) ends its session; anything else is
   * ignored. A DPoP-bound session's token is honoured only with a proof by its key (`proofJkt`):
   * a thief holding a copy but not the key cannot sign the user out this way either.
   */
  async revokeRefreshToken(token: unknown, ip: string | null, proofJkt?: string): Promise<void> {
    const found = await this.#authenticRefresh(token)
    if (!found) return
    const now = this.o.now()
    if (found.session.dpop_jkt && found.session.dpop_jkt !== proofJkt) {
      await this.#audit({ type: 'dpop_proof_refused', userId: found.session.user_id, sessionId: found.session.id, ip, detail: { revoke: true, proof: proofJkt ? 'other key' : 'none' }, now })
      return
    }
    if (await revokeSession(this.o.db, found.session.id, 'revoked', now)) {
      this.o.revocations.ended([found.session.id])
      await this.#audit({ type: 'revoke', userId: found.session.user_id, sessionId: found.session.id, ip, now })
    }
  }

  /**
   * A refresh (or revocation) whose DPoP proof was refused before the token was looked at: when the
   * token is an authentic one of a bound session, `dpop_proof_refused` is audited (nothing else
   * changes). A refused nonce is the ordinary nonce dance and is not audited.
   */
  async auditRefusedProof(token: unknown, ip: string | null): Promise<void> {
    const found = await this.#authenticRefresh(token)
    if (!found?.session.dpop_jkt) return
    await this.#audit({ type: 'dpop_proof_refused', userId: found.session.user_id, sessionId: found.session.id, ip, detail: { presented: found.parts.counter, proof: 'invalid' } })
  }

  /** RFC 7009: a refresh token or an access token; unknown or invalid tokens are ignored. */
  async revoke(token: string, ip: string | null, proofJkt?: string): Promise<void> {
    if (parseRefreshToken(token)) await this.revokeRefreshToken(token, ip, proofJkt)
    else await this.revokeAccessToken(token, ip)
  }

  /** RFC 7009 for an access token: ends the session it belongs to. */
  async revokeAccessToken(token: string, ip: string | null): Promise<void> {
    let caller: Caller
    try {
      caller = await this.authenticate(token)
    } catch {
      return
    }
    await this.signOut(caller, ip, 'revoke')
  }

  /**
   * Verifies a bearer access token (and, by default, that its session is still live).
   * `allowSignedOut`: the session may have ended (signing out one's own session is idempotent).
   * `live`: the session must be live (not ended, inside its idle and absolute lifetimes) even when
   * `checkSessionOnAccess` is off: for requests that end sessions, which an ended session must not
   * be able to do (OWASP ASVS 5.0 V7.4.1: after termination, no further use of the session).
   */
  async authenticate(access: string | AccessCredentials | undefined, opts: AuthenticateOptions = {}): Promise<Caller> {
    const claims = await this.#verifyPresented(access)
    if (opts.live) {
      // Ending sessions: the row itself, whatever the feed knows.
      const s = await getSession(this.o.db, claims.sid)
      if (!s || s.user_id !== claims.sub || !isLive(s, this.o.life, this.o.now())) throw sessionEnded()
    } else if (this.o.checkSessionOnAccess && !opts.allowSignedOut) {
      if (!(await this.#live.account(claims))) throw sessionEnded()
    }
    return { userId: claims.sub, sessionId: claims.sid, claims }
  }

  /**
   * The access token's claims, and for a DPoP-bound token (`cnf.jkt`) the RFC 9449 §7.1 checks:
   * the `DPoP` scheme with a valid proof by the bound key carrying `ath` (dpop/binding.ts). A bare
   * string is a token sent as `Bearer` without a proof (internal callers: a bound one is refused).
   */
  async #verifyPresented(access: string | AccessCredentials | undefined): Promise<AccessTokenClaims> {
    const creds: AccessCredentials | undefined = typeof access === 'string' ? { token: access, scheme: 'Bearer' } : access
    const claims = await this.#verifyClaims(creds?.token)
    await this.dpop.checkBinding(claims, creds!)
    return claims
  }

  /** RFC 9068 §4 validation (signature by an allowlisted key, iss, aud, exp, nbf, typ) of a bearer token. */
  async #verifyClaims(token: string | undefined): Promise<AccessTokenClaims> {
    // A token verified before: its signature holds; it must still be unexpired (as jose checks
    // `exp`, with the same tolerance) and its key still published (not retired since).
    const seen = token ? this.#verified.get(token) : undefined
    if (seen) {
      if (seen.claims.exp > Math.floor(this.o.now().getTime() / 1000) - DEFAULT_CLOCK_TOLERANCE && (await this.o.keys.publicKey(seen.kid))) return seen.claims
      this.#verified.delete(token!)
    }
    try {
      const claims = await verifyAccessTokenWith(token, keyStoreResolver(this.o.keys), {
        issuer: this.o.issuer,
        audience: this.o.audience,
        currentDate: this.o.now(),
        // Finding 6: no token this server verifies may live longer than the tokens it issues.
        maxTokenAge: this.o.accessTtl,
      })
      this.#verified.add(token!, claims)
      return claims
    } catch (e) {
      if (e instanceof InvalidAccessTokenError) throw invalidToken(e.code === 'expired' ? 'the access token expired' : undefined)
      throw e
    }
  }

  async signOut(caller: Pick<Caller, 'userId' | 'sessionId'>, ip: string | null, type: 'sign_out' | 'revoke' = 'sign_out'): Promise<void> {
    const now = this.o.now()
    if (await revokeSession(this.o.db, caller.sessionId, type === 'revoke' ? 'revoked' : 'sign_out', now)) {
      this.o.revocations.ended([caller.sessionId])
      await this.#audit({ type, userId: caller.userId, sessionId: caller.sessionId, ip, now })
    }
  }

  /** Signs out every other session of the caller's account (or all of them). Returns how many ended. */
  async signOutMany(caller: Caller, scope: 'others' | 'all', ip: string | null): Promise<number> {
    const now = this.o.now()
    // The caller's session is checked live and locked in the same transaction as the revocation
    // (finding 8: a check before and a revocation after left a window for a just-ended session).
    const done = await whileSessionLive(this.o.db, { id: caller.sessionId, userId: caller.userId, life: this.o.life, now }, (trx) =>
      revokeUserSessions(trx, caller.userId, scope === 'all' ? 'sign_out_all' : 'sign_out_others', now, scope === 'others' ? caller.sessionId : undefined),
    )
    if (!done) throw sessionEnded()
    const ids = done.value
    this.o.revocations.ended(ids)
    for (const id of ids) await this.#audit({ type: 'sign_out', userId: caller.userId, sessionId: id, ip, detail: { scope }, now })
    return ids.length
  }

  async listSessions(caller: Caller) {
    const rows = await listLiveSessions(this.o.db, caller.userId, this.o.life, this.o.now())
    return rows.map((s) => ({
      id: s.id,
      device: s.device,
      createdAt: s.created_at.toISOString(),
      lastUsedAt: s.last_used_at.toISOString(),
      current: s.id === caller.sessionId,
      /** Bound to a device key (DPoP, RFC 9449): the example app's devices screen shows it. */
      bound: s.dpop_jkt !== null,
    }))
  }

  /** Revokes one of the caller's own sessions; 404 for ids that are not theirs (no probing). */
  async deleteSession(caller: Caller, id: string, ip: string | null): Promise<void> {
    const now = this.o.now()
    const done = await whileSessionLive(this.o.db, { id: caller.sessionId, userId: caller.userId, life: this.o.life, now }, async (trx) => {
      const s = await getSession(trx, id)
      if (!s || s.user_id !== caller.userId || !isLive(s, this.o.life, now)) return false
      return revokeSession(trx, id, 'sign_out', now)
    })
    if (!done) throw sessionEnded()
    if (!done.value) throw new HttpError(404, 'not_found', 'no such session')
    this.o.revocations.ended([id])
    await this.#audit({ type: 'sign_out', userId: caller.userId, sessionId: id, ip, now })
  }

  /** Deletes expired rate-limit windows, audit events past retention and sessions ended longer ago than that. */
  async prune(): Promise<PruneCounts> {
    const rules = this.o.rateLimit ? [this.o.rateLimit.perAccount, this.o.rateLimit.perAccountTotal, this.o.rateLimit.perIp] : []
    const rateWindowSeconds = Math.max(0, ...rules.map((r) => r.windowSeconds))
    return pruneExpired(this.o.db, { retentionSeconds: this.o.retention, rateWindowSeconds, life: this.o.life }, this.o.now())
  }

  /**
   * GET /me: the account behind a bearer token. With the session check on, the same rule as
   * `authenticate` (the tokens of a session that is not live are refused at once), answered from
   * the revocation feed while it is live and from one joined read of session and user otherwise;
   * the user's email, email_verified and roles likewise (feed/user-facts.ts): no read in the steady state.
   */
  async me(access: string | AccessCredentials | undefined): Promise<UserFactsRow> {
    const claims = await this.#verifyPresented(access)
    if (this.o.checkSessionOnAccess && !(await this.#live.account(claims))) throw sessionEnded()
    // Issues 13 and 15: email_verified and roles as they are now, not as the token was issued.
    const u = await this.#users.get(claims.sub)
    if (!u) throw invalidToken('the account no longer exists')
    return u
  }

}

export const sessionEnded = () => invalidToken('the session was signed out')

/** The password queue is full or its deadline passed: 503 with Retry-After; anything else is rethrown. */
export function busy(e: unknown): never {
  if (e instanceof BusyError) {
    throw new HttpError(503, 'temporarily_unavailable', 'the server is busy; try again shortly', { 'Retry-After': String(e.retryAfter) })
  }
  throw e
}
