// Reads `refresh_reuse_detected` audit events from the run's databases: PostgreSQL through its
// URL; PGlite by opening its data folder once its server process has stopped.
import pg from 'pg'

const SQL = "SELECT session_id, created_at FROM audit_events WHERE type = 'refresh_reuse_detected' ORDER BY id"

/** @returns {Promise<{ sessionId: string, at: number, server: string }[]>} */
export async function reuseFromPostgres(url) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query(SQL)
    return rows.map((r) => ({ sessionId: r.session_id, at: new Date(r.created_at).getTime(), server: 'pg' }))
  } finally {
    await client.end()
  }
}

/** The PGlite server must be stopped first: one process owns a data folder at a time. */
export async function reuseFromPglite(dataDir) {
  const { PGlite } = await import('@electric-sql/pglite')
  const db = await PGlite.create(dataDir)
  try {
    const { rows } = await db.query(SQL)
    return rows.map((r) => ({ sessionId: r.session_id, at: new Date(r.created_at).getTime(), server: 'pglite' }))
  } finally {
    await db.close()
  }
}
