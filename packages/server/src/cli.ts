#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js'
import { KeyCipher, protectStoredKeys, rotateSigningKeys } from './crypto/keys.js'
import { AdminChannelUnavailableError, callAdmin } from './admin/socket.js'
import { openDatabase, redactUrl } from './db/connect.js'
import { FolderLockedError } from './db/folder-lock.js'
import { migrate } from './db/migrations.js'
import { startServer } from './server.js'
import { rolesCli } from './roles/cli.js'
import { RolesUsageError } from './roles/admin.js'

const USAGE = `latchkey-server [serve|rotate-keys|roles|help]

  serve        start the auth server (default). On a PGlite folder it locks the folder
               (DATA_DIR/latchkey.lock): a second process on it stops with an error naming
               the pid that holds it; a lock left by a killed process is taken over.
  rotate-keys  make a new signing key; the previous one stays in the JWKS, so tokens it
               signed verify until they expire. Against a running server: on PGlite the
               command asks that server (socket DATA_DIR/run/admin.sock); on PostgreSQL it
               writes the database and every server signs with the new key at once.
  roles grant <email> <role> | roles revoke <email> <role> | roles list <email>
               a user's roles ([a-z][a-z0-9_-]{0,31}); audited. Like rotate-keys, a running
               server on a PGlite folder does it over its admin socket. Access tokens carry the
               change from their next refresh; the server's own endpoints check it at once.

Environment: PORT (8787), HOST (127.0.0.1), DATA_DIR (./data), DATABASE_URL, LATCHKEY_ISSUER,
LATCHKEY_ACCESS_TTL (600), LATCHKEY_REFRESH_GRACE (60), LATCHKEY_SESSION_IDLE (30d),
LATCHKEY_SESSION_MAX (90d), LATCHKEY_RETENTION (90d), LATCHKEY_HASH_CONCURRENCY (cores), LATCHKEY_SECRET,
LATCHKEY_STATIC_DIR, LATCHKEY_RATE_LIMIT (on|off), LATCHKEY_TRUST_PROXY (off|on),
LATCHKEY_SESSION_CHECK (on|off), LATCHKEY_CORS_ORIGINS (comma-separated),
LATCHKEY_KEY_ROTATION (90d; off: only rotate-keys rotates)`

/** The JavaScript runtime this process runs on: the server runs on Node and on Bun. */
function runtimeName(): string {
  const bun = (process.versions as Record<string, string | undefined>).bun
  return bun ? `Bun ${bun}` : `Node ${process.versions.node}`
}

async function serve(): Promise<void> {
  const config = loadConfig()
  const server = await startServer(config)
  const store = config.databaseUrl ? `PostgreSQL ${redactUrl(config.databaseUrl)}` : `PGlite in ${config.dataDir}`
  console.log(`Latchkey server listening on ${server.url} (${store}; issuer ${server.issuer}; ${runtimeName()})`)
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`${signal}: finishing requests in flight, then closing the database`)
    server.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(`shutdown failed: ${(e as Error).message}`)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

const printRotation = (kid: unknown, previous: unknown) =>
  console.log(`new signing key ${String(kid)}; previous key ${previous == null ? '(none)' : String(previous)} stays published in the JWKS`)

/**
 * Finding 7: a PGlite folder belongs to the one process holding its lock. When a server holds it,
 * the rotation is asked of that server (it rotates in its own database and signs with the new key
 * at once); otherwise this process opens the folder itself. On PostgreSQL the rotation is written
 * to the database and every server hears of it (LISTEN/NOTIFY, crypto/keys.ts).
 */
async function rotateKeys(): Promise<void> {
  const config = loadConfig()
  let handle: Awaited<ReturnType<typeof openDatabase>>
  try {
    handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, preparedStatements: config.preparedStatements })
  } catch (e) {
    if (!(e instanceof FolderLockedError)) throw e
    let answer: Record<string, unknown>
    try {
      answer = await callAdmin(config.dataDir, 'rotate-keys')
    } catch (cause) {
      if (cause instanceof AdminChannelUnavailableError) {
        throw new Error(`${e.message}; and it does not answer on its admin socket (${cause.message}): if it is still starting, run rotate-keys again once it listens`, { cause })
      }
      throw cause
    }
    printRotation(answer.kid, answer.previous)
    console.log(`(rotated by the running server, pid ${e.holder.pid})`)
    return
  }
  try {
    const cipher = config.secret ? new KeyCipher(config.secret) : undefined
    await migrate(handle.db, (trx) => protectStoredKeys(trx, cipher))
    const { kid, previous } = await rotateSigningKeys(handle.db, new Date(), cipher)
    printRotation(kid, previous)
  } finally {
    await handle.close()
  }
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'serve'
  if (command === 'serve') return serve()
  if (command === 'rotate-keys') return rotateKeys()
  if (command === 'roles') return void console.log(await rolesCli(loadConfig(), argv.slice(1)))
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE)
    return
  }
  console.error(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
  process.exit(2)
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`configuration error: ${e.message}`)
  else if (e instanceof RolesUsageError) {
    console.error(`latchkey-server: ${e.message}`)
    process.exit(2)
  } else console.error(`latchkey-server: ${(e as Error)?.message ?? String(e)}`)
  process.exit(1)
})
