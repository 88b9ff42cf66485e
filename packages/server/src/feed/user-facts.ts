import type { Kysely } from 'kysely'
import { BoundedMap } from '../bounded-map.js'
import type { Database } from '../db/schema.js'
import { readUserFacts, type UserFactsRow } from '../store/users-changed.js'
import type { RevocationFeed } from './revocation-feed.js'

interface Cached {
  facts: UserFactsRow
  /** The revocation feed's epoch when these were read. */
  epoch: number
}

export interface UserFactsOptions {
  db: Kysely<Database>
  feed: RevocationFeed
  /** Users remembered at most (the oldest used goes first; default 50,000). */
  maxEntries?: number
}

/**
 * A user's email, email_verified and roles as GET /me answers them, kept per process and
 * answered without a database read while the revocation feed is live (issues 13, 14, 15: a
 * verification or a role change shows at once on our own endpoints). The same rules as the
 * session facts (live-session.ts):
 * - a change to a user (migration 10's triggers, heard through the feed, or `usersChanged` in
 *   this process) forgets that user, so the next request reads the row again;
 * - facts read under an earlier epoch of the feed are read again (changes made while it was down
 *   were not heard); while the feed is not live (down, catching up) every call reads the row;
 * - a read that began before a change was heard is answered but not kept (it may predate the change).
 */
export class UserFacts {
  readonly #cache: BoundedMap<string, Cached>
  /** Counts the changes heard: a read is kept only if none was heard while it ran. */
  #changes = 0
  readonly stop: () => void

  constructor(private readonly o: UserFactsOptions) {
    this.#cache = new BoundedMap(o.maxEntries ?? 50_000)
    this.stop = o.feed.onUsersChanged((ids) => {
      this.#changes++
      for (const id of ids) this.#cache.delete(id)
    })
  }

  /** The user's facts; undefined when the user does not exist. */
  async get(userId: string): Promise<UserFactsRow | undefined> {
    const { feed } = this.o
    if (feed.state() !== 'live') return readUserFacts(this.o.db, userId)
    const epoch = feed.epoch()
    const cached = this.#cache.touch(userId)
    if (cached && cached.epoch === epoch) return cached.facts
    const changes = this.#changes
    const facts = await readUserFacts(this.o.db, userId)
    // Asked after the await: the feed's state and what it heard as they are now.
    if (facts && feed.state() === 'live' && feed.epoch() === epoch && this.#changes === changes) this.#cache.set(userId, { facts, epoch })
    return facts
  }

  get size(): number {
    return this.#cache.size
  }
}
