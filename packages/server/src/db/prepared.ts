import { CompiledQuery, type Kysely } from 'kysely'
import type { Database } from './schema.js'

/**
 * Statements of the hot paths (a refresh, a session read), written once as SQL and prepared once
 * per database connection: PostgreSQL then parses and analyses them once instead of on every
 * request (PostgreSQL documentation, "PREPARE": the work saved is parsing and analysis, and
 * planning when the generic plan is chosen). Everything else stays Kysely-built and unnamed.
 *
 * On `pg` a registered text is sent with its name (the extended protocol's named statement);
 * on PGlite the dialect runs `PREPARE name AS text` once, then `EXECUTE name(…)`
 * (db/pglite-dialect.ts). Names come from a fixed set written in code, never from input.
 *
 * Column lists are explicit, in the select list and in RETURNING: a prepared `SELECT *` fails
 * ("cached plan must not change result type") once another process's migration adds a column.
 */
export interface PreparedStatement<R> {
  readonly name: string
  readonly text: string
  /** The rows of one execution, on `db` or inside a transaction. */
  rows(db: Kysely<Database>, parameters: readonly unknown[]): Promise<R[]>
}

const NAME_RE = /^[a-z][a-z0-9_]{0,50}$/
const byText = new Map<string, string>()
const byName = new Map<string, string>()

/** Registers a statement under `name` (lower-case SQL identifier; each name once, for one text). */
export function preparedStatement<R>(name: string, text: string): PreparedStatement<R> {
  if (!NAME_RE.test(name)) throw new TypeError(`preparedStatement: ${JSON.stringify(name)} is not a plain lower-case identifier`)
  const full = `latchkey_${name}`
  const known = byName.get(full)
  if (known !== undefined && known !== text) throw new TypeError(`preparedStatement: ${full} is already registered with another text`)
  byName.set(full, text)
  byText.set(text, full)
  const node = CompiledQuery.raw(text).query
  // The query id is the statement's name, so a plugin (tests count statements) can tell which ran.
  const queryId = Object.freeze({ queryId: full })
  return {
    name: full,
    text,
    rows: async (db, parameters) => (await db.executeQuery<R>({ sql: text, parameters: [...parameters], query: node, queryId })).rows,
  }
}

/** The statement name of a registered SQL text; undefined for any other text. */
export function preparedName(text: string): string | undefined {
  return byText.get(text)
}
