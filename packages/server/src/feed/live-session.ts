import type { Kysely } from 'kysely'
import type { AccessTokenClaims } from '../crypto/jwt.js'
import type { Database } from '../db/schema.js'
import { isLive, type Lifetimes } from '../store/sessions.js'
import { findAccountOfLiveSession, findSessionOfUser } from '../store/users.js'
import type { RevocationFeed } from './revocation-feed.js'
import { SessionFactsCache } from './session-facts.js'

/** The session's user (what `/me` answers about the user comes from feed/user-facts.ts, which follows changes). */
export interface Account {
  id: string
}

export interface LiveSessionCheckOptions {
  db: Kysely<Database>
  feed: RevocationFeed
  life: Lifetimes
  /** The refresh grace window (seconds): a grace pair is issued up to this long after the rotation that last used the session. */
  refreshGrace: number
  now: () => Date
  facts?: SessionFactsCache
}

/**
 * "Is the session of this verified access token live, and whose is it?" (`isLive`), answered
 * without a database read while the revocation feed is live:
 * - ended (sign-out, revoke, reuse): the feed knows every session ended within the token's life;
 * - absolute lifetime: from the session's `created_at`, cached (it never changes);
 * - idle lifetime: every token is issued when its session is used (sign-in, rotation) or within
 *   `refreshGrace` of it (a grace pair), so `last_used_at ≥ iat − refreshGrace`; when that bound
 *   is inside the idle lifetime the session is not idle-expired. Otherwise the row decides.
 * While the feed is not live (disconnected, catching up) every check reads the row, as always.
 * The first check of a session in this process reads its row once.
 */
export class LiveSessionCheck {
  readonly #facts: SessionFactsCache

  constructor(private readonly o: LiveSessionCheckOptions) {
    this.#facts = o.facts ?? new SessionFactsCache()
  }

  /** The account when the token's session is live and the user's; undefined when it is not. */
  async account(claims: Pick<AccessTokenClaims, 'sub' | 'sid' | 'iat'>): Promise<Account | undefined> {
    const { db, feed, life } = this.o
    if (feed.state() !== 'live') return this.#readRow(claims)
    const epoch = feed.epoch()
    let facts = this.#facts.get(claims.sid)
    if (!facts || facts.epoch !== epoch) {
      const row = await findSessionOfUser(db, claims.sid)
      if (!row || row.user_id !== claims.sub || !isLive(row, life, this.o.now())) return undefined
      facts = { userId: row.user_id, createdAtMs: row.created_at.getTime(), epoch }
      this.#facts.set(claims.sid, facts)
    }
    // Asked after any await: the feed's state and knowledge as they are now.
    if (feed.state() !== 'live' || feed.epoch() !== epoch) return this.#readRow(claims)
    if (facts.userId !== claims.sub || feed.hasEnded(claims.sid)) return undefined
    const nowMs = this.o.now().getTime()
    if (facts.createdAtMs <= nowMs - life.max * 1000) return undefined
    if ((claims.iat - this.o.refreshGrace) * 1000 <= nowMs - life.idle * 1000) return this.#readRow(claims)
    return { id: facts.userId }
  }

  #readRow(claims: Pick<AccessTokenClaims, 'sub' | 'sid'>): Promise<Account | undefined> {
    return findAccountOfLiveSession(this.o.db, { sessionId: claims.sid, userId: claims.sub, life: this.o.life, now: this.o.now() })
  }
}
