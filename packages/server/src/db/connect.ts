import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely'
import pg from 'pg'
import { lockDataFolder } from './folder-lock.js'
import { PGliteDialect } from './pglite-dialect.js'
import { preparedName } from './prepared.js'
import type { Database } from './schema.js'

export interface DatabaseHandle {
  db: Kysely<Database>
  kind: 'pglite' | 'postgres'
  close(): Promise<void>
  /**
   * PGlite: every notification this in-process backend receives (on channels it LISTENs to),
   * delivered before the notifying transaction's COMMIT resolves. Unset on PostgreSQL (db/listen.ts).
   */
  onNotification?: (callback: (channel: string, payload: string) => void) => () => void
}

export interface DatabaseOptions {
  /** PostgreSQL connection string; takes precedence over `dataDir`. */
  databaseUrl?: string | undefined
  /** PGlite data folder, or `memory://` for an in-memory database. */
  dataDir?: string | undefined
  /** pg pool size (default 10). */
  poolSize?: number
  /** PostgreSQL: registered statements go by name, prepared once per connection (default true; db/prepared.ts). */
  preparedStatements?: boolean
}

/**
 * Opens PostgreSQL (when a URL is given) or embedded PGlite. A PGlite data folder is locked for
 * this process until `close()` (db/folder-lock.ts, finding 7): a second opener gets a
 * FolderLockedError naming the folder and the pid holding it, before anything is read or written.
 */
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
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: options.preparedStatements === false ? pool : namingPool(pool) }) })
    return { db, kind: 'postgres', close: () => db.destroy() }
  }
  const dataDir = options.dataDir ?? 'memory://'
  if (dataDir.startsWith('memory://')) {
    const pglite = await PGlite.create(dataDir)
    const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
    return { db, kind: 'pglite', close: () => db.destroy(), onNotification: (cb) => pglite.onNotification(cb) }
  }
  mkdirSync(dataDir, { recursive: true })
  const lock = lockDataFolder(dataDir)
  let pglite: PGlite
  try {
    pglite = await PGlite.create(dataDir)
  } catch (e) {
    lock.release()
    throw e
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
  let closing: Promise<void> | undefined
  // The lock goes only once PGlite has closed (and written its last pages) for good.
  const close = () =>
    (closing ??= (async () => {
      try {
        await db.destroy()
        if (!pglite.closed) await pglite.close()
      } finally {
        lock.release()
      }
    })())
  return { db, kind: 'pglite', close, onNotification: (cb) => pglite.onNotification(cb) }
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

/**
 * The pool as Kysely sees it: a registered statement (db/prepared.ts) is sent with its name, so
 * each connection parses it once; any other query goes through unchanged. One wrapper per pooled
 * client, so Kysely keeps one connection object per client as it does for the plain pool.
 */
function namingPool(pool: pg.Pool): PostgresPool {
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>()
  const wrap = (client: pg.PoolClient): PostgresPoolClient => ({
    query: ((text: string, values?: unknown[]) => {
      const name = typeof text === 'string' ? preparedName(text) : undefined
      if (name !== undefined) return client.query({ name, text, values: values ?? [] })
      return client.query(text, values)
    }) as unknown as PostgresPoolClient['query'],
    release: () => client.release(),
  })
  return {
    async connect() {
      const client = await pool.connect()
      let wrapped = wrappers.get(client)
      if (!wrapped) wrappers.set(client, (wrapped = wrap(client)))
      return wrapped
    },
    end: () => pool.end(),
  }
}
