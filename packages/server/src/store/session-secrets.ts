import { BoundedMap } from '../bounded-map.js'

/**
 * The per-session secrets (the refresh-token MAC's input, crypto/refresh-token.ts) this process has
 * already read or issued, so that a refresh can check a token's MAC before any database work and
 * rotate in one statement. A session's secret is written once, when the session is created, and
 * never changes, so an entry cannot go stale: whether the session is still live, and which counter
 * is current, are always decided by the database (the rotating UPDATE's WHERE clause).
 * Only secrets of authentic tokens and of issued pairs enter (a forged token adds nothing); at most
 * `max` entries, the least recently used leaving first. The secrets never leave the process (the
 * server key that makes them useful is in the same memory).
 */
export class SessionSecrets {
  readonly #entries: BoundedMap<string, string>

  constructor(readonly max: number) {
    this.#entries = new BoundedMap(max)
  }

  get(sessionId: string): string | undefined {
    return this.#entries.touch(sessionId)
  }

  set(sessionId: string, secret: string): void {
    this.#entries.set(sessionId, secret)
  }

  get size(): number {
    return this.#entries.size
  }
}
