// Better Auth (npm better-auth), email and password, otherwise default settings, on PostgreSQL
// through a pg Pool, served by node:http on loopback. Its own migrations (getMigrations) create
// the tables in the database it is given.
import { createServer } from 'node:http'
import { betterAuth } from 'better-auth'
import { getMigrations } from 'better-auth/db/migration'
import { toNodeHandler } from 'better-auth/node'
import pg from 'pg'
import { childMain } from './children.mjs'

childMain(async ({ databaseUrl }) => {
  const pool = new pg.Pool({ connectionString: databaseUrl }) // pg's default pool size (10), like Latchkey's
  pool.on('error', () => undefined)
  let handler = null
  const server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
      return
    }
    handler(req, res)
  })
  server.keepAliveTimeout = 30_000
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const baseURL = `http://127.0.0.1:${server.address().port}`
  const auth = betterAuth({
    baseURL,
    secret: 'latchkey-bench-better-auth-secret-0123456789abcdef',
    database: pool,
    emailAndPassword: { enabled: true },
    // The default outside production; stated so NODE_ENV cannot change it. Latchkey runs with its
    // rate limits off as well: this measures throughput, not limits.
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
  })
  const { runMigrations } = await getMigrations(auth.options)
  await runMigrations()
  handler = toNodeHandler(auth)
  return {
    info: { url: baseURL },
    close: async () => {
      await new Promise((r) => server.close(() => r()))
      server.closeAllConnections?.()
      await pool.end()
    },
  }
})
