import { openDatabase } from './db/connect.js'
import { startRevocationFeed, type FeedState } from './feed/revocation-feed.js'
import type { Logger } from './service.js'

const quiet: Logger = { info() {}, warn() {}, error() {} }

export interface FollowRevocationsOptions {
  /** The auth server's PostgreSQL (a role that may LISTEN and SELECT id, revoked_at on sessions is enough). */
  databaseUrl: string
  /** The auth server's LATCHKEY_ACCESS_TTL, seconds: how long an ended session must be remembered. */
  accessTtl: number
  logger?: Logger
  /** Clock (tests). */
  now?: () => Date
}

/** What a resource server knows of the sessions that ended (see followRevocations). */
export interface RevocationFollower {
  /** True when the session was revoked or no longer exists. */
  hasEnded(sessionId: string): Promise<boolean>
  /** `live`: answered from memory; otherwise each question reads the session's row. */
  state(): FeedState
  close(): Promise<void>
}

/**
 * The auth server's revocation feed for a resource server (issue 14): it LISTENs on the auth
 * server's PostgreSQL as every auth-server process does, keeps the sessions ended within the
 * access-token lifetime in memory, and while the feed is down or catching up reads the session's
 * row instead, so a token of a session signed out anywhere is refused within moments of the
 * commit, with no call to the auth server per request. Pass it to `createAccessTokenVerifier` or
 * `requireAccessToken` as `revocations`.
 *
 * Against RFC 7662 token introspection (a POST to the auth server for each token, or each token
 * once per cache period): introspection needs no database access and answers every question the
 * auth server can (lifetimes too) but costs a round trip per request (or reopens the revocation
 * window for as long as its answers are cached); the feed costs one connection and memory for
 * the recently ended ids, answers from memory, but needs the database credentials (read access
 * to `sessions`) and checks only "ended", not the idle or absolute session lifetimes (tokens are
 * short-lived; the auth server refuses to refresh them). Stateless verification alone (no
 * `revocations`) accepts a signed-out session's tokens until they expire.
 */
export async function followRevocations(o: FollowRevocationsOptions): Promise<RevocationFollower> {
  const handle = await openDatabase({ databaseUrl: o.databaseUrl, poolSize: 2 })
  try {
    const feed = await startRevocationFeed({ db: handle.db, databaseUrl: o.databaseUrl, accessTtl: o.accessTtl, now: o.now ?? (() => new Date()), logger: o.logger ?? quiet })
    return {
      async hasEnded(sessionId) {
        if (feed.state() === 'live') return feed.hasEnded(sessionId)
        const row = await handle.db.selectFrom('sessions').select('revoked_at').where('id', '=', sessionId).executeTakeFirst()
        return !row || row.revoked_at !== null
      },
      state: () => feed.state(),
      async close() {
        await feed.close()
        await handle.close()
      },
    }
  } catch (e) {
    await handle.close().catch(() => undefined)
    throw e
  }
}
