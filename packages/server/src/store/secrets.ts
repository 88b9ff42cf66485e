import { randomBytes } from 'node:crypto'
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/schema.js'

/**
 * A named random secret generated once and kept in `server_secrets`, shared by every process on
 * the database. (A configured LATCHKEY_SECRET takes precedence and keeps the key out of the
 * database entirely.)
 */
export async function ensureServerSecret(db: Kysely<Database> | Transaction<Database>, name: string, now = new Date()): Promise<string> {
  await db
    .insertInto('server_secrets')
    .values({ name, value: randomBytes(32).toString('base64url'), created_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute()
  return (await db.selectFrom('server_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow()).value
}
