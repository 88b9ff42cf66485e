#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js'
import { KeyCipher, protectStoredKeys, rotateSigningKeys } from './crypto/keys.js'
import { openDatabase, redactUrl } from './db/connect.js'
import { migrate } from './db/migrations.js'
import { startServer } from './server.js'

const USAGE = `latchkey-server [serve|rotate-keys|help]

  serve        start the auth server (default)
  rotate-keys  make a new signing key; the previous one stays in the JWKS

Environment: PORT (8787), HOST (127.0.0.1), DATA_DIR (./data), DATABASE_URL, LATCHKEY_ISSUER,
LATCHKEY_ACCESS_TTL (600), LATCHKEY_REFRESH_GRACE (60), LATCHKEY_SESSION_IDLE (30d),
LATCHKEY_SESSION_MAX (90d), LATCHKEY_RETENTION (90d), LATCHKEY_HASH_CONCURRENCY (cores), LATCHKEY_SECRET,
LATCHKEY_STATIC_DIR, LATCHKEY_RATE_LIMIT (on|off), LATCHKEY_TRUST_PROXY (off|on),
LATCHKEY_SESSION_CHECK (on|off), LATCHKEY_CORS_ORIGINS (comma-separated)`

async function serve(): Promise<void> {
  const config = loadConfig()
  const server = await startServer(config)
  const store = config.databaseUrl ? `PostgreSQL ${redactUrl(config.databaseUrl)}` : `PGlite in ${config.dataDir}`
  console.log(`Latchkey server listening on ${server.url} (${store}; issuer ${server.issuer})`)
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

async function rotateKeys(): Promise<void> {
  const config = loadConfig()
  const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
  try {
    const cipher = config.secret ? new KeyCipher(config.secret) : undefined
    await migrate(handle.db, (trx) => protectStoredKeys(trx, cipher))
    const { kid, previous } = await rotateSigningKeys(handle.db, new Date(), cipher)
    console.log(`new signing key ${kid}; previous key ${previous ?? '(none)'} stays published in the JWKS`)
  } finally {
    await handle.close()
  }
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'serve'
  if (command === 'serve') return serve()
  if (command === 'rotate-keys') return rotateKeys()
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE)
    return
  }
  console.error(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
  process.exit(2)
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`configuration error: ${e.message}`)
  else console.error(`latchkey-server: ${(e as Error)?.message ?? String(e)}`)
  process.exit(1)
})
