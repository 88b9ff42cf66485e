import type { PGlite } from '@electric-sql/pglite'
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely'

/**
 * A Kysely dialect for PGlite (embedded PostgreSQL in WebAssembly). PGlite is one backend that
 * runs one query at a time, so the driver hands out its single connection to one holder at a
 * time (a FIFO mutex): a transaction (BEGIN … COMMIT on that connection) never interleaves with
 * another caller's statements. SQL generation and introspection are Kysely's PostgreSQL ones.
 */
export class PGliteDialect implements Dialect {
  constructor(private readonly pglite: PGlite | (() => Promise<PGlite>)) {}

  createAdapter(): DialectAdapter {
    return new PostgresAdapter()
  }
  createDriver(): Driver {
    return new PGliteDriver(this.pglite)
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler()
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db)
  }
}

class Mutex {
  #tail: Promise<void> = Promise.resolve()

  /** Resolves with a release function once every earlier holder has released. */
  acquire(): Promise<() => void> {
    let release!: () => void
    const next = new Promise<void>((r) => (release = r))
    const ready = this.#tail.then(() => release)
    this.#tail = this.#tail.then(() => next)
    return ready
  }
}

class PGliteDriver implements Driver {
  #pglite: PGlite | undefined
  #connection: PGliteConnection | undefined
  readonly #mutex = new Mutex()
  #release: (() => void) | undefined

  constructor(private readonly source: PGlite | (() => Promise<PGlite>)) {}

  async init(): Promise<void> {
    this.#pglite = typeof this.source === 'function' ? await this.source() : this.source
    this.#connection = new PGliteConnection(this.#pglite)
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.#mutex.acquire()
    if (!this.#connection) {
      release()
      throw new Error('PGlite driver is not initialised or was destroyed')
    }
    this.#release = release
    return this.#connection
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let sql = 'begin'
    if (settings.isolationLevel) sql += ` isolation level ${settings.isolationLevel}`
    if (settings.accessMode) sql += ` ${settings.accessMode}`
    await connection.executeQuery(CompiledQuery.raw(sql))
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'))
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'))
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release
    this.#release = undefined
    release?.()
  }

  async destroy(): Promise<void> {
    const release = await this.#mutex.acquire()
    try {
      this.#connection = undefined
      const pglite = this.#pglite
      this.#pglite = undefined
      if (pglite && !pglite.closed) await pglite.close()
    } finally {
      release()
    }
  }
}

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly pglite: PGlite) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.pglite.query<R>(compiled.sql, [...compiled.parameters])
    const kind = compiled.query.kind
    const affected = result.affectedRows
    if (affected !== undefined && (kind === 'InsertQueryNode' || kind === 'UpdateQueryNode' || kind === 'DeleteQueryNode' || kind === 'MergeQueryNode')) {
      return { rows: result.rows, numAffectedRows: BigInt(affected) }
    }
    return { rows: result.rows }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite dialect: streaming queries are not supported')
  }
}
