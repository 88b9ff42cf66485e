/**
 * The ids of sessions that ended recently, each kept for `keepMs` after it was heard of: as long
 * as an access token issued before the end can still pass its `exp` check. Entries are kept in
 * the order they were added (a re-added id moves to the end), so pruning stops at the first entry
 * still young enough; memory is bounded by the sessions ended within `keepMs`.
 */
export class RecentlyEnded {
  readonly #heardAt = new Map<string, number>()

  constructor(
    readonly keepMs: number,
    private readonly nowMs: () => number,
  ) {}

  add(ids: Iterable<string>): void {
    const at = this.nowMs()
    for (const id of ids) {
      this.#heardAt.delete(id)
      this.#heardAt.set(id, at)
    }
    this.prune()
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
