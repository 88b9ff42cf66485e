import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

/** Where a test server keeps its data: a PGlite folder, or a PostgreSQL database of its own. */
export interface TestDatabase {
  dataDir?: string
  databaseUrl?: string
  /** Drops the database / removes the folder. */
  cleanup(): Promise<void>
}

export interface TestBackend {
  name: 'pglite' | 'postgres'
  create(): Promise<TestDatabase>
}

/**
 * The backends every store/server suite runs against: PGlite always; the real PostgreSQL when
 * LATCHKEY_TEST_DATABASE_URL is set. With the variable set the PostgreSQL runs are never skipped:
 * an unreachable server fails them (what CI needs: `.ci/run` sets the variable).
 */
export function testBackends(): TestBackend[] {
  const backends: TestBackend[] = [pgliteBackend]
  const url = process.env.LATCHKEY_TEST_DATABASE_URL
  if (url) backends.push({ name: 'postgres', create: () => createPostgresDatabase(url) })
  return backends
}

/** A fresh PGlite folder per suite: for suites that need no second backend. */
export const pgliteBackend: TestBackend = { name: 'pglite', create: async () => createPgliteDir() }

export function createPgliteDir(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-server-'))
  return { dataDir: dir, cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
}

/** Creates a fresh database `lk_test_<random>` next to the one in `adminUrl`; dropped by cleanup. */
export async function createPostgresDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = `lk_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    databaseUrl: url.toString(),
    async cleanup() {
      const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 })
      await c.connect()
      try {
        await c.query(`drop database if exists ${name} with (force)`)
      } finally {
        await c.end()
      }
    },
  }
}
