// The Latchkey server (@latchkey/server, built) in its own process, for the server scenarios.
// Options: startServer's own (databaseUrl | dataDir, accessTtl, refreshGrace, rateLimit, …) plus
// `clockOffsetS` support: the server's clock is Date.now() + an offset the parent can move, so a
// token can be made expired on the server's clock without waiting (refresh-storm).
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startServer, silentLogger } from '@latchkey/server'
import { childMain } from './children.mjs'

const serverDist = fileURLToPath(new URL('../../packages/server/dist/', import.meta.url))
// Internal modules of the server, used only to pre-make sessions without 10,000 Argon2 hashes.
const internal = (p) => import(pathToFileURL(join(serverDist, p)).href)

childMain(async (options) => {
  let offsetMs = 0
  const running = await startServer({
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
    ...options,
    now: () => new Date(Date.now() + offsetMs),
  })
  const db = running.db
  return {
    info: { url: running.url, port: running.port, pid: process.pid },
    close: () => running.close(),
    commands: {
      advanceClock({ seconds }) {
        offsetMs += seconds * 1000
        return offsetMs
      },
      /**
       * Inserts `count` users (all with one Argon2id hash of `password`, computed once) and one
       * session each, straight into the server's tables; returns each session's first refresh
       * token, minted with the server's own MAC code and key.
       */
      async seed({ count, password, emailPrefix = 'seed' }) {
        const { hashPassword } = await internal('crypto/password.js')
        const { formatRefreshToken, newSessionId, newSessionSecret } = await internal('crypto/refresh-token.js')
        const macKey = running.service.o.macKey
        const passwordHash = await hashPassword(password)
        const now = running.service.o.now()
        const tokens = []
        const emails = []
        const batch = 500
        for (let start = 0; start < count; start += batch) {
          const users = []
          const sessions = []
          for (let i = start; i < Math.min(count, start + batch); i++) {
            const userId = randomUUID()
            const email = `${emailPrefix}-${i}@bench.example`
            users.push({ id: userId, email, password_hash: passwordHash, created_at: now })
            const id = newSessionId()
            const secret = newSessionSecret()
            sessions.push({ id, user_id: userId, counter: 0, secret, device: 'bench', created_at: now, last_used_at: now, rotated_at: null, revoked_at: null, revoke_reason: null })
            tokens.push(formatRefreshToken(macKey, id, 0, secret))
            emails.push(email)
          }
          await db.insertInto('users').values(users).execute()
          await db.insertInto('sessions').values(sessions).execute()
        }
        return { tokens, emails }
      },
      async session({ id }) {
        const row = await db.selectFrom('sessions').select(['counter', 'revoked_at', 'revoke_reason']).where('id', '=', id).executeTakeFirst()
        return row ? { counter: row.counter, revoked: row.revoked_at !== null, reason: row.revoke_reason } : null
      },
      async auditCounts({ sessionId }) {
        const rows = await db.selectFrom('audit_events').select(['type']).where('session_id', '=', sessionId).execute()
        const counts = {}
        for (const r of rows) counts[r.type] = (counts[r.type] ?? 0) + 1
        return counts
      },
    },
  }
})
