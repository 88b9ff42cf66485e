// temporary: in-process refresh cost, before vs after dist, PGlite or PG
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
const which = process.argv[2]; const engine = process.argv[3] ?? 'pglite'
const dist = which === 'before' ? '/tmp/rf-before/packages/server/dist' : '/work/refresh-fast/packages/server/dist'
const { createApp, silentLogger } = await import(join(dist, 'index.js'))
const { formatRefreshToken, newSessionId, newSessionSecret } = await import(join(dist, 'crypto/refresh-token.js'))
let opts
if (engine === 'pglite') opts = { dataDir: join(mkdtempSync(join(tmpdir(), 'rfprof-')), 'd') }
else { const { createDatabase } = await import('../lib/pg.mjs'); const db = await createDatabase('rfprof_' + which); opts = { databaseUrl: db.url } }
const app = await createApp({ ...opts, issuer: 'http://x', logger: silentLogger, rateLimit: false })
const svc = app.service, db = app.db, now = new Date()
const N = 2000; const tokens = []
const users = [], sessions = []
for (let i = 0; i < N; i++) { const uid = randomUUID(); users.push({ id: uid, email: `${i}@x`, password_hash: 'x', created_at: now }); const id = newSessionId(), secret = newSessionSecret(); sessions.push({ id, user_id: uid, counter: 0, secret, device: null, created_at: now, last_used_at: now, rotated_at: null, revoked_at: null, revoke_reason: null }); tokens.push(formatRefreshToken(svc.o.macKey, id, 0, secret)) }
for (let i = 0; i < N; i += 500) { await db.insertInto('users').values(users.slice(i, i + 500)).execute(); await db.insertInto('sessions').values(sessions.slice(i, i + 500)).execute() }
for (let pass = 0; pass < 3; pass++) {
  const t = performance.now()
  // concurrency 8
  let k = 0
  await Promise.all(Array.from({ length: 8 }, async () => { while (k < N) { const i = k++; tokens[i] = (await svc.refresh(tokens[i], null)).refresh_token } }))
  console.log(which, engine, 'pass', pass, (N / ((performance.now() - t) / 1000)).toFixed(0), '/s')
}
await app.close()
