/**
 * The ids of sessions that ended recently, each kept for `keepMs` after it was heard of: as long
 * as an access token issued before the end can still pass its `exp` check. Entries are kept in
 * the order they were added (a re-added id moves to the end), so pruning stops at the first entry
 * still young enough; memory is bounded by the sessions ended within `keepMs`.
 */
export class RecentlyEnded {
  readonly #heardAt = new Map<string, number>()
  /** Until then, ids heard within `keepMs` may have been dropped for the cap (`complete` is false). */
  #droppedUntil = Number.NEGATIVE_INFINITY

  /**
   * `maxEntries` bounds the memory (a mass sign-out, a flood of revocations): above it the oldest
   * ids are dropped, and the set says it is not `complete` until every dropped id would have been
   * forgotten anyway, so callers read the session rows meanwhile (a revoked session never passes).
   */
  constructor(
    readonly keepMs: number,
    private readonly nowMs: () => number,
    readonly maxEntries = 500_000,
  ) {}

  add(ids: Iterable<string>): void {
    const at = this.nowMs()
    for (const id of ids) {
      this.#heardAt.delete(id)
      this.#heardAt.set(id, at)
    }
    this.prune()
    if (this.#heardAt.size > this.maxEntries) {
      for (const id of this.#heardAt.keys()) {
        if (this.#heardAt.size <= this.maxEntries) break
        this.#heardAt.delete(id)
      }
      this.#droppedUntil = at + this.keepMs
    }
  }

  /** False while an id heard within `keepMs` may have been dropped for the cap: `has` is then not to be trusted. */
  get complete(): boolean {
    return this.nowMs() >= this.#droppedUntil
  }

  has(id: string): boolean {
    return this.#heardAt.has(id)
  }

  get size(): number {
    return this.#heardAt.size
  }

  prune(): void {
    const oldest = this.nowMs() - this.keepMs
    for (const [id, at] of this.#heardAt) {
      if (at > oldest) break
      this.#heardAt.delete(id)
    }
  }
}
