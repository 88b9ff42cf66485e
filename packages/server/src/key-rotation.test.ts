import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { silentLogger } from './app.js'
import { KeyStore, ensureSigningKey, rotateSigningKeysIfOlderThan } from './crypto/keys.js'
import { openDatabase, type DatabaseHandle } from './db/connect.js'
import { migrate } from './db/migrations.js'
import { startKeyRotation } from './key-rotation.js'
import { testBackends, type TestDatabase } from './test-support/databases.js'
import { TestClock } from './test-support/server.js'

// Security review finding 7, scheduled rotation (LATCHKEY_KEY_ROTATION): a key signs for a bounded
// cryptoperiod (NIST SP 800-57 Part 1 §5.3), and servers sharing a database rotate once, not once each.

const DAY = 86_400

describe.each(testBackends())('finding 7: scheduled key rotation ($name)', (backend) => {
  let tdb: TestDatabase
  let handles: DatabaseHandle[]
  const clock = new TestClock()
  beforeAll(async () => {
    tdb = await backend.create()
    const first = await openDatabase({ databaseUrl: tdb.databaseUrl, dataDir: tdb.dataDir })
    await migrate(first.db, (trx) => ensureSigningKey(trx, clock.now()))
    // PostgreSQL: a second process's pool on the same database; PGlite: one process per folder.
    handles = tdb.databaseUrl ? [first, await openDatabase({ databaseUrl: tdb.databaseUrl })] : [first]
  })
  afterAll(async () => {
    await Promise.all(handles.map((h) => h.close()))
    await tdb?.cleanup()
  })

  const statuses = async () =>
    (await handles[0]!.db.selectFrom('signing_keys').select(['kid', 'status']).orderBy('created_at').execute()).map((r) => r.status)

  test('finding 7: no rotation before the period is over; one after it, even when every server checks at the same moment', async () => {
    const due = () => Promise.all(handles.flatMap((h) => [h, h]).map((h) => rotateSigningKeysIfOlderThan(h.db, clock.now(), 30 * DAY)))
    expect((await due()).filter(Boolean)).toHaveLength(0)
    expect(await statuses()).toEqual(['current'])
    clock.advance(30 * DAY)
    const rotated = (await due()).filter(Boolean)
    expect(rotated).toHaveLength(1)
    expect(await statuses()).toEqual(['previous', 'current'])
    // The new key starts a new period.
    expect((await due()).filter(Boolean)).toHaveLength(0)
  })

  test('finding 7: the server\'s rotateIfDue reloads its key store: it signs with the new key at once', async () => {
    const keys = new KeyStore(handles[0]!.db)
    await keys.load()
    const rotation = await startKeyRotation({ db: handles[0]!.db, keys, cipher: undefined, databaseUrl: undefined, rotateAfter: 30 * DAY, now: clock.now, logger: silentLogger })
    try {
      const before = (await keys.signingKey()).kid
      expect(await rotation.rotateIfDue()).toBeNull()
      clock.advance(30 * DAY)
      const r = await rotation.rotateIfDue()
      expect(r).toMatchObject({ previous: before })
      expect((await keys.signingKey()).kid).toBe(r!.kid)
      expect((await keys.jwks()).keys.map((k) => k.kid)).toEqual([r!.kid, before])
    } finally {
      await rotation.close()
    }
  })

  test('finding 7: with the schedule off, rotateIfDue never rotates', async () => {
    const keys = new KeyStore(handles[0]!.db)
    const rotation = await startKeyRotation({ db: handles[0]!.db, keys, cipher: undefined, databaseUrl: undefined, rotateAfter: false, now: clock.now, logger: silentLogger })
    clock.advance(3650 * DAY)
    expect(await rotation.rotateIfDue()).toBeNull()
    await rotation.close()
  })
})
