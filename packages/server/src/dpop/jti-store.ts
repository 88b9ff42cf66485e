import type { Kysely } from 'kysely'
import { preparedStatement } from '../db/prepared.js'
import type { Database } from '../db/schema.js'
import type { JtiStore } from './proof.js'

interface PendingUse {
  expiresAt: Date
  resolve: (fresh: boolean) => void
  reject: (error: unknown) => void
}

/**
 * DPoP `jti`s in the database (RFC 9449 §11.1): the primary key makes a proof single-use across
 * every server process on one database (an insert that does nothing on a conflict). Rows past
 * `expires_at` are deleted by the retention job (store/retention.ts): by then a proof carrying
 * that jti is refused for its `iat` anyway.
 *
 * What the RFC asks. §4.3 (the checks a server MUST make, which §7.1 applies to resource servers)
 * lists no jti check; §11.1 says "servers MUST only accept DPoP proofs for a limited time after
 * their creation" (proof.ts: 60 s) and that, "in the context of the target URI, servers can store
 * the jti value of each DPoP proof for the time window in which the respective DPoP proof JWT would
 * be accepted", adding that such a single-use check "may not always be feasible in practice, e.g.,
 * when multiple servers behind a single endpoint have no shared state". So single use across
 * processes is not required; we keep it because our processes do share a database, and it is the
 * strong protection the RFC describes (a proof captured in transit is refused at every process).
 *
 * What it costs is one write per DPoP request. Group commit keeps that write off the per-request
 * path under load without weakening the check: uses arriving while an insert is in flight wait
 * and go together in the next one (one statement for up to `maxBatch` jtis), and each request is
 * answered only after its jti's row is committed, or refused when it was there already. A jti
 * presented twice within one batch is refused the second time without asking the database.
 * At low load nothing waits: the first use starts its insert at once.
 */
/** One text for any batch size (arrays, not a VALUES list per size), so it is prepared once (db/prepared.ts). */
const insertJtis = preparedStatement<{ key: string }>(
  'insert_dpop_jtis',
  'insert into dpop_proofs (key, expires_at) select * from unnest($1::text[], $2::timestamptz[]) on conflict (key) do nothing returning key',
)

export class DatabaseJtiStore implements JtiStore {
  readonly #pending = new Map<string, PendingUse>()
  #draining = false

  constructor(
    private readonly db: Kysely<Database>,
    readonly maxBatch = 256,
  ) {}

  use(key: string, expiresAt: Date, _now: Date): Promise<boolean> {
    if (this.#pending.has(key)) return Promise.resolve(false)
    return new Promise<boolean>((resolve, reject) => {
      this.#pending.set(key, { expiresAt, resolve, reject })
      if (!this.#draining) void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    this.#draining = true
    try {
      while (this.#pending.size > 0) {
        const batch: [string, PendingUse][] = []
        for (const entry of this.#pending) {
          batch.push(entry)
          if (batch.length >= this.maxBatch) break
        }
        for (const [key] of batch) this.#pending.delete(key)
        try {
          const rows = await insertJtis.rows(this.db, [batch.map(([key]) => key), batch.map(([, u]) => u.expiresAt)])
          const inserted = new Set(rows.map((r) => r.key))
          for (const [key, u] of batch) u.resolve(inserted.has(key))
        } catch (e) {
          for (const [, u] of batch) u.reject(e)
        }
      }
    } finally {
      this.#draining = false
    }
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
