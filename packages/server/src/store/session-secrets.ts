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
  readonly #entries = new Map<string, string>()

  constructor(readonly max: number) {}

  get(sessionId: string): string | undefined {
    const secret = this.#entries.get(sessionId)
    if (secret !== undefined) {
      // Most recently used last (a Map keeps insertion order).
      this.#entries.delete(sessionId)
      this.#entries.set(sessionId, secret)
    }
    return secret
  }

  set(sessionId: string, secret: string): void {
    if (this.max <= 0) return
    this.#entries.delete(sessionId)
    this.#entries.set(sessionId, secret)
    if (this.#entries.size > this.max) this.#entries.delete(this.#entries.keys().next().value!)
  }

  get size(): number {
    return this.#entries.size
  }
}
