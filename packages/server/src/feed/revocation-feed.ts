import { sql, type Kysely } from 'kysely'
import { listen, type Listener } from '../db/listen.js'
import type { Database } from '../db/schema.js'
import type { Logger } from '../service.js'
import { SESSIONS_ENDED_CHANNEL, parseSessionsEnded, sessionsRevokedSince } from '../store/sessions-ended.js'
import { USERS_CHANGED_CHANNEL } from '../store/users-changed.js'
import { JOBS_QUEUED_CHANNEL } from '../store/jobs-queued.js'
import { RecentlyEnded } from './recently-ended.js'

/**
 * Seconds an ended session is remembered beyond the access-token lifetime: the verifier's clock
 * tolerance (5 s), clock skew between processes, and a grace pair issued from a row read just
 * before the revocation committed.
 */
export const ENDED_LEEWAY_SECONDS = 60

export interface RevocationFeedOptions {
  db: Kysely<Database>
  /** PostgreSQL: other processes' revocations are heard through LISTEN. Unset (PGlite): this process is the only one. */
  databaseUrl: string | undefined
  accessTtl: number
  now: () => Date
  logger: Logger
  /** Most ended session ids remembered (default 500 000, about 60 MB): beyond it the feed is not live until they expire. */
  maxRemembered?: number
  /** Delay before reconnecting the LISTEN connection, and before retrying a failed catch-up (default 1 s). */
  retryMs?: number
  /**
   * PostgreSQL: the feed counts as live only while its connection has delivered a self-notification
   * sent within this many ms (default 1000): a revocation committed before that is known here. Over
   * it (a silent or slow connection) sessions are read from the table until one arrives.
   */
  maxStaleMs?: number
  /**
   * PGlite (DatabaseHandle.onNotification): the in-process backend's notifications, so user
   * changes (migration 10's triggers) are heard whatever code path made them. Without it on
   * PGlite, user changes are not heard and `onUsersChanged` listeners learn only of `usersChanged`.
   */
  onNotification?: ((callback: (channel: string, payload: string) => void) => () => void) | undefined
}

/** `live`: every session ended within the window is known here; otherwise sessions must be read from the table. */
export type FeedState = 'live' | 'catching-up' | 'down'

export interface RevocationFeed {
  state(): FeedState
  /**
   * Counts the times the feed became live. What was learnt from the table under an earlier count
   * may have changed while the feed was down unheard (a session deleted): read it again.
   */
  epoch(): number
  /** Whether the session is known to have ended within the last access-token lifetime. Meaningful only while `state()` is `live`. */
  hasEnded(sessionId: string): boolean
  /** Sessions this process has just ended (after their revocation committed): known here at once, before the notification. */
  ended(sessionIds: readonly string[]): void
  /**
   * Calls `listener` with the ids of users whose facts (email, email_verified, roles, existence)
   * changed, as heard on 'latchkey_users_changed' (migration 10) or told through `usersChanged`.
   * Returns a function that stops it. A listener must also distrust what it learnt under an
   * earlier `epoch()`: changes made while the feed was down were not heard.
   */
  onUsersChanged(listener: (userIds: readonly string[]) => void): () => void
  /** Users this process has just changed (after the change committed): listeners learn it at once. */
  usersChanged(userIds: readonly string[]): void
  /**
   * Calls `listener` with a table's name when another process (PostgreSQL) committed new rows to a
   * work queue (migration 11: `email_outbox`, `provider_token_revocations`), so its worker runs now.
   */
  onJobsQueued(listener: (table: string) => void): () => void
  close(): Promise<void>
}

/**
 * The revocation feed of one server process (issue 14). Triggers on `sessions` (migration 4)
 * send the id of every session that ends with pg_notify inside the ending transaction, so
 * PostgreSQL delivers them to every listening process when it commits and never when it rolls
 * back. Here they go into a `RecentlyEnded` set kept for as long as an access token can live.
 *
 * The feed is `live` only while its LISTEN connection is up AND it has caught up since that
 * connection was (re)established: LISTEN first, then read the sessions revoked within the window
 * from the table, so a revocation is either heard or read. While it is not live, callers read
 * the session row as before (no window in which a revoked session passes). A lost connection is
 * noticed when its socket closes; a silent one (half-open: no RST, no data) by the self-notifications
 * sent on it (db/listen.ts): the feed is live only while one sent within `maxStaleMs` (1 s) has come
 * back, so a revocation is either known here or its session row is read, whatever the network does.
 *
 * PGlite is one process (the data folder is locked): every revocation is made here and reported
 * through `ended` once committed, so the feed is always live. In a PostgreSQL process `ended` makes
 * its own revocations known before their notification comes back.
 *
 * The same connection hears 'latchkey_users_changed' (migration 10: a user's email,
 * email_verified or roles changed, or the user was deleted) and tells `onUsersChanged` listeners
 * (feed/user-facts.ts); on PGlite the in-process backend's own notifications do (`onNotification`).
 */
export async function startRevocationFeed(o: RevocationFeedOptions): Promise<RevocationFeed> {
  const keepMs = (o.accessTtl + ENDED_LEEWAY_SECONDS) * 1000
  const recent = new RecentlyEnded(keepMs, () => o.now().getTime(), o.maxRemembered)
  const userListeners = new Set<(userIds: readonly string[]) => void>()
  const usersChanged = (ids: readonly string[]) => {
    for (const l of userListeners) l(ids)
  }
  const jobListeners = new Set<(table: string) => void>()
  const base = {
    onJobsQueued: (listener: (table: string) => void) => {
      jobListeners.add(listener)
      return () => void jobListeners.delete(listener)
    },
    hasEnded: (id: string) => recent.has(id),
    ended: (ids: readonly string[]) => recent.add(ids),
    onUsersChanged: (listener: (userIds: readonly string[]) => void) => {
      userListeners.add(listener)
      return () => void userListeners.delete(listener)
    },
    usersChanged,
  }
  if (!o.databaseUrl) {
    // PGlite: the triggers' notifications come from this process's own backend, synchronously
    // before the changing COMMIT resolves, so a change is known here before its request answers.
    let stop: (() => void) | undefined
    if (o.onNotification) {
      stop = o.onNotification((channel, payload) => {
        if (channel === USERS_CHANGED_CHANNEL && payload) usersChanged([payload])
      })
      await sql`listen latchkey_users_changed`.execute(o.db)
    }
    // Over the cap of remembered ids the feed is not live until they would have expired (rows are read).
    return { ...base, state: () => (recent.complete ? 'live' : 'catching-up'), epoch: () => 1, close: async () => stop?.() }
  }

  const retryMs = o.retryMs ?? 1_000
  let state: FeedState = 'down'
  let epoch = 0
  let closed = false
  // Each (re)connection starts a generation; a catch-up finishing for an older one changes nothing.
  let generation = 0
  let retry: NodeJS.Timeout | undefined
  let firstCatchUp: Promise<void> | undefined

  const catchUp = async (g: number): Promise<void> => {
    try {
      const since = new Date(o.now().getTime() - keepMs)
      recent.add(await sessionsRevokedSince(o.db, since))
    } catch (e) {
      o.logger.warn('revocation feed: catching up failed; sessions are read from the database meanwhile', { error: e instanceof Error ? e.message : String(e) })
      if (g === generation && !closed) {
        retry = setTimeout(() => void catchUp(g), retryMs)
        retry.unref()
      }
      return
    }
    if (g !== generation || closed) return
    state = 'live'
    epoch++
    o.logger.info('revocation feed live', { remembered: recent.size })
  }

  const listener: Listener = await listen({
    databaseUrl: o.databaseUrl,
    channel: SESSIONS_ENDED_CHANNEL,
    moreChannels: [USERS_CHANGED_CHANNEL, JOBS_QUEUED_CHANNEL],
    applicationName: `latchkey-revocations-${process.pid}`,
    retryMs,
    onNotify: (payload, channel) => {
      if (!payload) return
      if (channel === USERS_CHANGED_CHANNEL) usersChanged([payload])
      else if (channel === JOBS_QUEUED_CHANNEL) for (const l of jobListeners) l(payload)
      else recent.add(parseSessionsEnded(payload))
    },
    onState: (listening) => {
      generation++
      if (retry) clearTimeout(retry)
      retry = undefined
      if (!listening) {
        if (state !== 'down') o.logger.warn('revocation feed lost; sessions are read from the database until it is back')
        state = 'down'
        return
      }
      state = 'catching-up'
      const caught = catchUp(generation)
      firstCatchUp ??= caught
    },
    onError: (message) => o.logger.warn('revocation feed unavailable; sessions are read from the database', { error: message }),
    // Heartbeats four times per staleness bound; a connection silent for 5 s is reopened.
    confirm: { everyMs: Math.max(10, Math.floor((o.maxStaleMs ?? 1_000) / 4)) },
    // Sent through the pool: heard only if a commit made elsewhere reaches this connection.
    sendHeartbeat: (channel, payload) => sql`select pg_notify(${channel}, ${payload})`.execute(o.db),
  })
  // A server that says it is ready has caught up once (when the database let it).
  await firstCatchUp

  const maxStaleMs = o.maxStaleMs ?? 1_000
  const fresh = () => {
    const at = listener.confirmedAt()
    return at !== undefined && performance.now() - at <= maxStaleMs
  }
  return {
    ...base,
    // Not live while over the cap of remembered ids, or while the connection has not proved recently that it delivers.
    state: () => (state === 'live' && (!recent.complete || !fresh()) ? 'catching-up' : state),
    epoch: () => epoch,
    async close() {
      closed = true
      if (retry) clearTimeout(retry)
      await listener.close()
    },
  }
}
