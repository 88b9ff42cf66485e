import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { PGliteDialect } from './pglite-dialect.js'
import type { Database } from './schema.js'

export interface DatabaseHandle {
  db: Kysely<Database>
  kind: 'pglite' | 'postgres'
  close(): Promise<void>
}

export interface DatabaseOptions {
  /** PostgreSQL connection string; takes precedence over `dataDir`. */
  databaseUrl?: string | undefined
  /** PGlite data folder, or `memory://` for an in-memory database. */
  dataDir?: string | undefined
  /** pg pool size (default 10). */
  poolSize?: number
}

/** Opens PostgreSQL (when a URL is given) or embedded PGlite. */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 })
    // An idle client that loses its connection emits 'error' on the pool; without a listener
    // that would crash the process. The next query gets a fresh client.
    pool.on('error', () => undefined)
    // Fail fast with a clear message when the server is unreachable.
    try {
      const client = await pool.connect()
      client.release()
    } catch (cause) {
      await pool.end().catch(() => undefined)
      throw new Error(`cannot connect to PostgreSQL at ${redactUrl(options.databaseUrl)}: ${(cause as Error).message}`, { cause })
    }
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    return { db, kind: 'postgres', close: () => db.destroy() }
  }
  const dataDir = options.dataDir ?? 'memory://'
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true })
  const pglite = await PGlite.create(dataDir)
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
  return { db, kind: 'pglite', close: () => db.destroy() }
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(unparseable URL)'
  }
}
