import { parse, protocol, type PGlite } from '@electric-sql/pglite'
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
import { preparedName } from './prepared.js'

const { serialize } = protocol

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

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
  /** Registered statements (db/prepared.ts) parsed in this backend, with their parameter types (a prepared statement outlives transactions). */
  readonly #prepared = new Map<string, number[]>()

  constructor(private readonly pglite: PGlite) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const name = preparedName(compiled.sql)
    if (name !== undefined) return { rows: await this.#executePrepared<R>(name, compiled.sql, compiled.parameters) }
    const result = await this.pglite.query<R>(compiled.sql, [...compiled.parameters])
    const kind = compiled.query.kind
    const affected = result.affectedRows
    if (affected !== undefined && (kind === 'InsertQueryNode' || kind === 'UpdateQueryNode' || kind === 'DeleteQueryNode' || kind === 'MergeQueryNode')) {
      return { rows: result.rows, numAffectedRows: BigInt(affected) }
    }
    return { rows: result.rows }
  }

  /**
   * A registered statement by name over PGlite's wire protocol, as `pg` does on PostgreSQL: Parse
   * and Describe once (the parameter types, to serialize values as PGlite's own query does), then
   * Bind, Describe, Execute and Sync in one message per run. Exclusive of PGlite's own queries.
   */
  async #executePrepared<R>(name: string, text: string, parameters: readonly unknown[]): Promise<R[]> {
    const pglite = this.pglite
    return pglite.runExclusive(async () => {
      let types = this.#prepared.get(name)
      if (types === undefined) {
        try {
          const described = await pglite.execProtocol(concat([serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()]))
          types = parse.parseDescribeStatementResults(described.messages)
        } catch (e) {
          // E.g. inside a failed transaction: nothing may be left half-prepared under this name.
          await pglite.execProtocol(concat([serialize.close({ type: 'S', name }), serialize.sync()]), { throwOnError: false })
          throw e
        }
        this.#prepared.set(name, types)
      }
      const values = parameters.map((v, i) => (v === null || v === undefined ? null : (pglite.serializers[types[i]!] ?? String)(v)))
      const run = await pglite.execProtocol(concat([serialize.bind({ statement: name, values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]))
      return (parse.parseResults(run.messages, pglite.parsers)[0]?.rows ?? []) as R[]
    })
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite dialect: streaming queries are not supported')
  }
}
