// RFC 9449 §11.1: the database jti store keeps a proof single use across processes while
// grouping concurrent uses into one insert (group commit).
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { openDatabase, type DatabaseHandle } from '../db/connect.js'
import { migrate } from '../db/migrations.js'
import { testBackends, type TestDatabase } from '../test-support/databases.js'
import { StatementCounter } from '../test-support/statement-counter.js'
import { DatabaseJtiStore } from './jti-store.js'

let seq = 0
const key = () => `k-${process.pid}-${Date.now()}-${seq++}`

describe.each(testBackends())('DatabaseJtiStore ($name)', (backend) => {
  let tdb: TestDatabase
  let handle: DatabaseHandle
  beforeAll(async () => {
    tdb = await backend.create()
    handle = await openDatabase(tdb.databaseUrl ? { databaseUrl: tdb.databaseUrl } : { dataDir: tdb.dataDir })
    await migrate(handle.db)
  })
  afterAll(async () => {
    await handle?.close()
    await tdb?.cleanup()
  })

  const expires = () => new Date(Date.now() + 120_000)

  test('single use: the first use is fresh, any later one (this store or another on the database) is not', async () => {
    const k = key()
    const a = new DatabaseJtiStore(handle.db)
    const b = new DatabaseJtiStore(handle.db)
    expect(await a.use(k, expires(), new Date())).toBe(true)
    expect(await a.use(k, expires(), new Date())).toBe(false)
    expect(await b.use(k, expires(), new Date())).toBe(false)
  })

  test('concurrent uses go in fewer statements than uses; the same jti twice at once: one fresh, one refused', async () => {
    const counter = new StatementCounter()
    const store = new DatabaseJtiStore(handle.db.withPlugin(counter), 8)
    const keys = Array.from({ length: 40 }, key)
    const dup = keys[5]!
    const results = await Promise.all([...keys, dup].map((k) => store.use(k, expires(), new Date())))
    expect(results.slice(0, 40).every((r) => r)).toBe(true)
    expect(results[40]).toBe(false)
    // The first insert carries one jti; the 39 that queued behind it go 8 at a time.
    expect(counter.kinds).toEqual(Array(1 + Math.ceil(39 / 8)).fill('latchkey_insert_dpop_jtis'))
    expect((await Promise.all(keys.map((k) => store.use(k, expires(), new Date())))).some((r) => r)).toBe(false)
  })

  test('jtis are the client\'s own strings: quotes, commas, braces, backslashes and "NULL" go into the batch intact', async () => {
    const store = new DatabaseJtiStore(handle.db)
    const odd = ['a,b', 'say "hi"', '{x,y}', 'back\\slash\\', 'NULL', ' spaced ', 'ü-日本'].map((k) => `${key()}:${k}`)
    expect(await Promise.all(odd.map((k) => store.use(k, expires(), new Date())))).toEqual(odd.map(() => true))
    const stored = await handle.db.selectFrom('dpop_proofs').select('key').where('key', 'in', odd).execute()
    expect(stored.map((r) => r.key).sort()).toEqual([...odd].sort())
    expect(await Promise.all(odd.map((k) => store.use(k, expires(), new Date())))).toEqual(odd.map(() => false))
  })

  test('a failing insert fails its uses (the request errs; nothing is taken as fresh)', async () => {
    const store = new DatabaseJtiStore(handle.db)
    await expect(store.use('x'.repeat(10), new Date(Number.NaN), new Date())).rejects.toThrow()
  })
})
