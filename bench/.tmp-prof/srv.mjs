import { randomUUID } from 'node:crypto'
import autocannon from 'autocannon'
import { createDatabase } from '../lib/pg.mjs'
import { startServer, silentLogger } from '@latchkey/server'
const { formatRefreshToken, newSessionId, newSessionSecret } = await import('../../packages/server/dist/crypto/refresh-token.js')
const db0 = await createDatabase('rfprof_srv')
const s = await startServer({ databaseUrl: db0.url, port: 0, host: '127.0.0.1', logger: silentLogger, rateLimit: false })
const now = new Date(); const N = 2000; const tokens = []
const users = [], sessions = []
for (let i = 0; i < N; i++) { const uid = randomUUID(); users.push({ id: uid, email: `${uid}@x`, password_hash: 'x', created_at: now }); const id = newSessionId(), secret = newSessionSecret(); sessions.push({ id, user_id: uid, counter: 0, secret, device: null, created_at: now, last_used_at: now, rotated_at: null, revoked_at: null, revoke_reason: null }); tokens.push(formatRefreshToken(s.service.o.macKey, id, 0, secret)) }
for (let i = 0; i < N; i += 500) { await s.db.insertInto('users').values(users.slice(i, i + 500)).execute(); await s.db.insertInto('sessions').values(sessions.slice(i, i + 500)).execute() }
const pool = tokens.slice()
const RE = /"refresh_token":"([^"]+)"/
const r = await autocannon({ url: s.url, connections: 32, duration: 10, requests: [{ method: 'POST', path: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, setupRequest(req) { req.body = `grant_type=refresh_token&refresh_token=${encodeURIComponent(pool.shift())}`; return req }, onResponse(st, body) { const m = RE.exec(body); if (m) pool.push(m[1]) } }] })
console.log('rps', r.requests.average, 'non2xx', r.non2xx)
await s.close(); await db0.drop()
