import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import type { JtiStore } from './proof.js'

/**
 * DPoP `jti`s in the database (RFC 9449 §11.1): the primary key makes a proof single-use across
 * every server process on one database, in one statement (an insert that does nothing on a
 * conflict). Rows past `expires_at` are deleted by the retention job (store/retention.ts): by then
 * a proof carrying that jti is refused for its `iat` anyway.
 */
export class DatabaseJtiStore implements JtiStore {
  constructor(private readonly db: Kysely<Database>) {}

  async use(key: string, expiresAt: Date, _now: Date): Promise<boolean> {
    const row = await this.db
      .insertInto('dpop_proofs')
      .values({ key, expires_at: expiresAt })
      .onConflict((oc) => oc.column('key').doNothing())
      .returning('key')
      .executeTakeFirst()
    return row !== undefined
  }
}

/** Deletes the `jti`s whose proofs can no longer be accepted. */
export async function pruneDpopProofs(db: Kysely<Database>, now: Date): Promise<number> {
  const r = await db.deleteFrom('dpop_proofs').where('expires_at', '<', now).executeTakeFirst()
  return Number(r.numDeletedRows)
}

/**
 * A per-process jti store (for a resource server with no database): entries expire with their
 * proofs; when `max` live entries are held, a new proof is refused rather than an old jti
 * forgotten (forgetting one early would allow its replay).
 */
export class MemoryJtiStore implements JtiStore {
  readonly #seen = new Map<string, number>()
  constructor(readonly max = 100_000) {}

  async use(key: string, expiresAt: Date, now: Date): Promise<boolean> {
    const t = now.getTime()
    if (this.#seen.size >= this.max) for (const [k, exp] of this.#seen) if (exp < t) this.#seen.delete(k)
    const seen = this.#seen.get(key)
    if (seen !== undefined && seen >= t) return false
    if (this.#seen.size >= this.max) return false
    this.#seen.set(key, expiresAt.getTime())
    return true
  }
}
