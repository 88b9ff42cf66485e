import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { testBackends, type TestDatabase } from '../test-support/databases.js'
import { createSession, getSession, rotateSession } from '../store/sessions.js'
import { openDatabase, type DatabaseHandle } from './connect.js'
import { migrate } from './migrations.js'
import { preparedName, preparedStatement } from './prepared.js'

interface Probe {
  id: string
  n: number
  at: Date
  tags: unknown
  note: string | null
}

const insertProbe = preparedStatement<Probe>('test_insert_probe', 'insert into prepared_probe (id, n, at, tags, note) values ($1, $2, $3, $4, $5) returning id, n, at, tags, note')
const bumpProbe = preparedStatement<Probe>('test_bump_probe', 'update prepared_probe set n = n + 1, at = $3 where id = $1 and n = $2 returning id, n, at, tags, note')

describe('registering prepared statements', () => {
  test('names are plain identifiers, each with one text; a text not registered has no name', () => {
    expect(preparedName(insertProbe.text)).toBe('latchkey_test_insert_probe')
    expect(preparedName('select 1')).toBeUndefined()
    expect(() => preparedStatement('Bad-Name', 'select 1')).toThrow(TypeError)
    expect(() => preparedStatement('x; drop table users', 'select 1')).toThrow(TypeError)
    expect(() => preparedStatement('test_insert_probe', 'select 2')).toThrow(/already registered/)
    // The same text again (a module evaluated twice) is the same statement.
    expect(preparedStatement('test_insert_probe', insertProbe.text).name).toBe(insertProbe.name)
  })
})

describe.each(testBackends())('prepared statements on $name', (backend) => {
  let tdb: TestDatabase
  let h: DatabaseHandle
  beforeAll(async () => {
    tdb = await backend.create()
    h = await openDatabase(tdb)
    await sql`create table prepared_probe (id text primary key, n integer not null, at timestamptz not null, tags json, note text)`.execute(h.db)
  })
  afterAll(async () => {
    await h?.close()
    await tdb?.cleanup()
  })

  const preparedHere = async (db: Parameters<typeof insertProbe.rows>[0]) =>
    (await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(db)).rows.map((r) => r.name)

  test('a registered statement is prepared on the connection that runs it, and answers as a built query would', async () => {
    const at = new Date('2026-11-24T04:00:00.123Z')
    await h.db.transaction().execute(async (trx) => {
      // One connection for the whole transaction: what it has prepared is visible to it.
      const [row] = await insertProbe.rows(trx, ['a', 1, at, JSON.stringify(['x', 'y']), null])
      expect(row).toEqual({ id: 'a', n: 1, at, tags: ['x', 'y'], note: null })
      expect(await preparedHere(trx)).toContain('latchkey_test_insert_probe')
      const [bumped] = await bumpProbe.rows(trx, ['a', 1, new Date(at.getTime() + 1000)])
      expect(bumped).toMatchObject({ n: 2, at: new Date(at.getTime() + 1000) })
      // A second run by name (no Parse) with a counter that no longer matches: no row.
      expect(await bumpProbe.rows(trx, ['a', 1, at])).toEqual([])
      expect(await bumpProbe.rows(trx, ['a', 2, at])).toHaveLength(1)
      const built = await sql`select id from prepared_probe where id = ${'none'}`.execute(trx)
      expect(built.rows).toEqual([])
      // Kysely-built queries stay unnamed: only registered texts are prepared.
      expect((await preparedHere(trx)).every((n) => n.startsWith('latchkey_'))).toBe(true)
    })
  })

  test("a column added by another connection (a migration while serving) does not break the sessions' prepared statements", async () => {
    await migrate(h.db)
    const now = new Date()
    const life = { idle: 3600, max: 86_400 }
    const user = await h.db.insertInto('users').values({ id: randomUUID(), email: `prepared-${randomUUID()}@example.test`, password_hash: null, created_at: now }).returning('id').executeTakeFirstOrThrow()
    const session = await createSession(h.db, { userId: user.id, device: null, now })
    // Prepared on every pooled connection that runs them (up to the pool's size at once).
    const everywhere = () => Promise.all(Array.from({ length: 10 }, () => getSession(h.db, session.id)))
    expect((await everywhere()).every((s) => s?.id === session.id)).toBe(true)
    if (tdb.databaseUrl) {
      const other = new pg.Client({ connectionString: tdb.databaseUrl })
      await other.connect()
      try {
        await other.query('alter table sessions add column extra_probe text')
      } finally {
        await other.end()
      }
    } else {
      await sql`alter table sessions add column extra_probe text`.execute(h.db)
    }
    // A `select *` prepared before the change would now fail ("cached plan must not change result type").
    const after = await everywhere()
    expect(after.every((s) => s?.id === session.id && !Object.hasOwn(s, 'extra_probe'))).toBe(true)
    const rotated = await rotateSession(h.db, { id: session.id, counter: 0, now: new Date(), life, ip: null })
    expect(rotated).toMatchObject({ id: session.id, counter: 1, roles: [], email_verified: false })
    await sql`alter table sessions drop column extra_probe`.execute(h.db)
  })

  test('switched off (LATCHKEY_DB_PREPARED=off, for a transaction-mode pooler), the same statements go unnamed on PostgreSQL', async () => {
    if (!tdb.databaseUrl) return // PGlite is in-process: nothing between it and us to be confused by names
    const unnamed = await openDatabase({ databaseUrl: tdb.databaseUrl, preparedStatements: false })
    try {
      await unnamed.db.transaction().execute(async (trx) => {
        expect(await bumpProbe.rows(trx, ['nobody', 0, new Date()])).toEqual([])
        expect(await insertProbe.rows(trx, ['d', 1, new Date(), null, 'unnamed'])).toMatchObject([{ id: 'd', note: 'unnamed' }])
        expect(await preparedHere(trx)).toEqual([])
      })
    } finally {
      await unnamed.close()
    }
  })

  test('a failing run throws the database error and the connection goes on; so does a first run inside a failed transaction', async () => {
    await insertProbe.rows(h.db, ['c', 1, new Date(), null, null])
    await expect(insertProbe.rows(h.db, ['c', 1, new Date(), null, null])).rejects.toMatchObject({ code: '23505' })
    expect(await bumpProbe.rows(h.db, ['c', 1, new Date()])).toHaveLength(1)
    const late = preparedStatement<{ id: string }>('test_late_probe', 'select id from prepared_probe where id = $1')
    await expect(
      h.db.transaction().execute(async (trx) => {
        await expect(sql`select 1/0`.execute(trx)).rejects.toThrow()
        // The transaction is aborted: the first Parse of this statement fails too.
        await late.rows(trx, ['c'])
      }),
    ).rejects.toMatchObject({ code: '25P02' })
    expect(await late.rows(h.db, ['c'])).toEqual([{ id: 'c' }])
  })
})
