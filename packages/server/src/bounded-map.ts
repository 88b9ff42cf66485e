/**
 * A Map that holds at most `max` entries: setting one past the bound drops the entry set (or
 * touched) longest ago. `max` ≤ 0 keeps nothing. The per-process caches of the server use it, so
 * none of them can grow with traffic.
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>()

  constructor(readonly max: number) {}

  get(key: K): V | undefined {
    return this.#entries.get(key)
  }

  /** `get`, and the entry becomes the most recently used (the last to be dropped). */
  touch(key: K): V | undefined {
    const value = this.#entries.get(key)
    if (value !== undefined) {
      this.#entries.delete(key)
      this.#entries.set(key, value)
    }
    return value
  }

  set(key: K, value: V): void {
    if (this.max <= 0) return
    this.#entries.delete(key) // a Map keeps insertion order: re-setting moves the entry last
    this.#entries.set(key, value)
    if (this.#entries.size > this.max) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
  }

  delete(key: K): void {
    this.#entries.delete(key)
  }

  get size(): number {
    return this.#entries.size
  }
}
