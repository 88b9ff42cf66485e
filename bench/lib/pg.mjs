// Throwaway PostgreSQL databases for one run, created and dropped by the scenario that uses them.
import pg from 'pg'

export const PG_URL = process.env.LATCHKEY_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

function withDatabase(url, name) {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

async function admin(sql) {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** Creates `lk_bench_<tag>_<pid>`; returns its URL and a `drop()` that forces it away. */
export async function createDatabase(tag) {
  const name = `lk_bench_${tag.replace(/[^a-z0-9_]/gi, '_')}_${process.pid}`.toLowerCase()
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await admin(`CREATE DATABASE ${name}`)
  return { name, url: withDatabase(PG_URL, name), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) }
}

export async function postgresVersion() {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    return (await client.query('SHOW server_version')).rows[0].server_version
  } finally {
    await client.end()
  }
}
