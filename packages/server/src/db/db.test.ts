import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { testBackends, type TestDatabase } from '../test-support/databases.js'
import { openDatabase, redactUrl, type DatabaseHandle } from './connect.js'
import { migrate, MIGRATIONS } from './migrations.js'

describe.each(testBackends())('database on $name', (backend) => {
  let tdb: TestDatabase
  let h: DatabaseHandle
  beforeAll(async () => {
    tdb = await backend.create()
    h = await openDatabase(tdb)
  })
  afterAll(async () => {
    await h?.close()
    await tdb?.cleanup()
  })

  test('migrations create every table once; a second run applies nothing', async () => {
    expect(await migrate(h.db)).toEqual(MIGRATIONS.map((m) => m.version))
    expect(await migrate(h.db)).toEqual([])
    const tables = await h.db.introspection.getTables()
    const names = tables.map((t) => t.name)
    for (const t of ['users', 'sessions', 'signing_keys', 'server_secrets', 'rate_limits', 'audit_events', 'dpop_proofs']) expect(names).toContain(t)
    const sessions = tables.find((t) => t.name === 'sessions')!
    expect(sessions.columns.map((c) => c.name).sort()).toEqual(
      ['counter', 'created_at', 'device', 'dpop_jkt', 'id', 'last_used_at', 'revoke_reason', 'revoked_at', 'rotated_at', 'secret', 'user_id'].sort(),
    )
  })

  test('concurrent migrations from two handles do not race (advisory lock)', async () => {
    if (backend.name !== 'postgres') return
    const other = await openDatabase(tdb)
    try {
      const results = await Promise.all([migrate(h.db), migrate(other.db)])
      expect(results.flat()).toEqual([])
    } finally {
      await other.close()
    }
  })

  test('transactions are isolated and roll back', async () => {
    await expect(
      h.db.transaction().execute(async (trx) => {
        await trx.insertInto('server_secrets').values({ name: 'tx', value: 'v', created_at: new Date() }).execute()
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    const row = await h.db.selectFrom('server_secrets').selectAll().where('name', '=', 'tx').executeTakeFirst()
    expect(row).toBeUndefined()
  })

  test('many concurrent statements and transactions complete (serialised on PGlite)', async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2
          ? h.db.insertInto('rate_limits').values({ key: `k${i}`, window_start: new Date(), count: i }).execute()
          : h.db.transaction().execute(async (trx) => {
              await trx.insertInto('rate_limits').values({ key: `k${i}`, window_start: new Date(), count: i }).execute()
              await trx.updateTable('rate_limits').set({ count: sql`count + 1` }).where('key', '=', `k${i}`).execute()
            }),
      ),
    )
    const { n } = await h.db.selectFrom('rate_limits').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()
    expect(n).toBe(40)
    const updated = await h.db.updateTable('rate_limits').set({ count: 0 }).where('key', 'like', 'k1%').executeTakeFirst()
    expect(updated.numUpdatedRows).toBe(11n)
  })
})

test('redactUrl hides the password', () => {
  expect(redactUrl('postgres://u:secret@h:5432/d')).not.toContain('secret')
})

test('an unreachable PostgreSQL is an error, not a skip (CI with LATCHKEY_TEST_DATABASE_URL set)', async () => {
  const { createPostgresDatabase } = await import('../test-support/databases.js')
  await expect(createPostgresDatabase('postgres://postgres@127.0.0.1:1/test')).rejects.toThrow()
  await expect(openDatabase({ databaseUrl: 'postgres://u:hunter22@127.0.0.1:1/x' })).rejects.toThrow(/cannot connect to PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/)
})
