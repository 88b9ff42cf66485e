import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
const engine = process.argv[2] ?? 'pglite'
const N = Number(process.argv[3] ?? 1000)
async function open(which) {
  const dist = which === 'before' ? '/tmp/rf-before/packages/server/dist' : '/work/refresh-fast/packages/server/dist'
  const { createApp, silentLogger } = await import(join(dist, 'index.js'))
  const rt = await import(join(dist, 'crypto/refresh-token.js'))
  let opts
  if (engine === 'pglite') opts = { dataDir: join(mkdtempSync(join(tmpdir(), 'rfprof-')), 'd') }
  else { const { createDatabase } = await import('../lib/pg.mjs'); const db = await createDatabase('rfprof2_' + which); opts = { databaseUrl: db.url } }
  const app = await createApp({ ...opts, issuer: 'http://x', logger: silentLogger, rateLimit: false })
  return { which, app, rt, tokens: [] }
}
async function seed(s) {
  const now = new Date(); const users = [], sessions = []; s.tokens = []
  for (let i = 0; i < N; i++) { const uid = randomUUID(); users.push({ id: uid, email: `${uid}@x`, password_hash: 'x', created_at: now }); const id = s.rt.newSessionId(), secret = s.rt.newSessionSecret(); sessions.push({ id, user_id: uid, counter: 0, secret, device: null, created_at: now, last_used_at: now, rotated_at: null, revoked_at: null, revoke_reason: null }); s.tokens.push(s.rt.formatRefreshToken(s.app.service.o.macKey, id, 0, secret)) }
  for (let i = 0; i < N; i += 500) { await s.app.db.insertInto('users').values(users.slice(i, i + 500)).execute(); await s.app.db.insertInto('sessions').values(sessions.slice(i, i + 500)).execute() }
}
async function pass(s) {
  const c = process.cpuUsage(); let k = 0
  await Promise.all(Array.from({ length: 8 }, async () => { while (k < N) { const i = k++; s.tokens[i] = (await s.app.service.refresh(s.tokens[i], null)).refresh_token } }))
  const d = process.cpuUsage(c); return (d.user + d.system) / N // CPU µs per refresh in this process
}
const sides = [await open('before'), await open('after')]
const res = { before: { cold: [], warm: [] }, after: { cold: [], warm: [] } }
for (let r = 0; r < 5; r++) {
  const order = r % 2 ? [...sides].reverse() : sides
  for (const s of order) await seed(s)
  for (const s of order) res[s.which].cold.push(Math.round(await pass(s)))
  for (const s of order) res[s.which].warm.push(Math.round(await pass(s)))
}
console.log(engine, JSON.stringify(res))
for (const s of sides) await s.app.close()
