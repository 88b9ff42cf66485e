// A minimal PostgreSQL adapter for node-oidc-provider (its adapter interface: upsert, find,
// findByUid, findByUserCode, consume, destroy, revokeByGrantId), one table of JSON payloads as in
// the provider's documented examples, on a pg Pool of 10 (pg's default, like Latchkey's). Written
// for the bench (oidc-provider ships no database adapter). A rotating refresh grant costs it four
// statements: find the refresh token, find the grant, consume the old token, insert the new one
// (its JWT access tokens are not stored).
import pg from 'pg'

export async function createPgAdapter(databaseUrl) {
  const pool = new pg.Pool({ connectionString: databaseUrl })
  pool.on('error', () => undefined)
  await pool.query(`
    CREATE TABLE IF NOT EXISTS oidc_payloads (
      model text NOT NULL,
      id text NOT NULL,
      payload jsonb NOT NULL,
      grant_id text,
      uid text,
      user_code text,
      expires_at timestamptz,
      consumed_at timestamptz,
      PRIMARY KEY (model, id)
    );
    CREATE INDEX IF NOT EXISTS oidc_payloads_grant_id ON oidc_payloads (grant_id);
    CREATE INDEX IF NOT EXISTS oidc_payloads_uid ON oidc_payloads (uid);
    CREATE INDEX IF NOT EXISTS oidc_payloads_user_code ON oidc_payloads (user_code);
  `)
  const found = (rows) => {
    const r = rows[0]
    if (!r || (r.expires_at && r.expires_at <= new Date())) return undefined
    return { ...r.payload, ...(r.consumed_at ? { consumed: Math.floor(r.consumed_at.getTime() / 1000) } : {}) }
  }
  class PgAdapter {
    constructor(model) {
      this.model = model
    }
    async upsert(id, payload, expiresIn) {
      await pool.query(
        `INSERT INTO oidc_payloads (model, id, payload, grant_id, uid, user_code, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(secs => $7::int) END)
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at`,
        [this.model, id, payload, payload.grantId ?? null, payload.uid ?? null, payload.userCode ?? null, typeof expiresIn === 'number' ? expiresIn : null],
      )
    }
    async find(id) {
      return found((await pool.query('SELECT payload, expires_at, consumed_at FROM oidc_payloads WHERE model = $1 AND id = $2', [this.model, id])).rows)
    }
    async findByUid(uid) {
      return found((await pool.query('SELECT payload, expires_at, consumed_at FROM oidc_payloads WHERE model = $1 AND uid = $2', [this.model, uid])).rows)
    }
    async findByUserCode(userCode) {
      return found((await pool.query('SELECT payload, expires_at, consumed_at FROM oidc_payloads WHERE model = $1 AND user_code = $2', [this.model, userCode])).rows)
    }
    async consume(id) {
      await pool.query('UPDATE oidc_payloads SET consumed_at = now() WHERE model = $1 AND id = $2', [this.model, id])
    }
    async destroy(id) {
      await pool.query('DELETE FROM oidc_payloads WHERE model = $1 AND id = $2', [this.model, id])
    }
    async revokeByGrantId(grantId) {
      await pool.query('DELETE FROM oidc_payloads WHERE grant_id = $1', [grantId])
    }
  }
  return { adapter: (model) => new PgAdapter(model), close: () => pool.end() }
}
