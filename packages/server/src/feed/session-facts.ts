import { BoundedMap } from '../bounded-map.js'

/** What never changes about a session once it exists: its user and when it began. */
export interface SessionFacts {
  userId: string
  createdAtMs: number
  /** The revocation feed's epoch when these were read (RevocationFeed.epoch). */
  epoch: number
}

/**
 * A bounded cache of SessionFacts by session id (the oldest entry goes first when full). Nothing
 * here says whether a session is live: that is the revocation feed's and the clock's business.
 */
export class SessionFactsCache {
  readonly #facts: BoundedMap<string, SessionFacts>

  constructor(readonly maxEntries = 50_000) {
    this.#facts = new BoundedMap(maxEntries)
  }

  get(id: string): SessionFacts | undefined {
    return this.#facts.get(id)
  }

  set(id: string, facts: SessionFacts): void {
    this.#facts.set(id, facts)
  }
}
