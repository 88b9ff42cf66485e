import { randomBytes } from 'node:crypto'
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'
import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../db/schema.js'

/**
 * Access tokens are signed with ES256 (ECDSA P-256 / SHA-256, RFC 7518 §3.4). Measured against
 * EdDSA (Ed25519) with jose on this machine (bench/jwt-alg.mjs): sign ≈ the same, verify ES256
 * faster, so sign + verify ES256 is the faster pair. Verification allowlists this one algorithm
 * (RFC 8725 §3.1, §2.1): `none` and HMAC algorithms can never be accepted.
 */
export const ACCESS_TOKEN_ALG = 'ES256'

type CryptoKeyLike = Awaited<ReturnType<typeof importJWK>>

interface LoadedKey {
  kid: string
  status: 'current' | 'previous'
  publicJwk: JWK
  publicKey: CryptoKeyLike
  privateJwk: JWK
}

async function newKeyRow(now: Date) {
  const { privateKey, publicKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true })
  const kid = randomBytes(12).toString('base64url')
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: ACCESS_TOKEN_ALG, use: 'sig' }
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALG, use: 'sig' }
  return { kid, alg: ACCESS_TOKEN_ALG, private_jwk: JSON.stringify(privateJwk), public_jwk: JSON.stringify(publicJwk), created_at: now }
}

/** Creates the first signing key when there is none (run under the migration lock). */
export async function ensureSigningKey(trx: Transaction<Database> | Kysely<Database>, now = new Date()): Promise<void> {
  const current = await trx.selectFrom('signing_keys').select('kid').where('status', '=', 'current').executeTakeFirst()
  if (current) return
  await trx.insertInto('signing_keys').values({ ...(await newKeyRow(now)), status: 'current' }).execute()
}

/**
 * Key rotation: the current key becomes `previous` (still published in the JWKS, so tokens it
 * signed verify until they expire), the old `previous` is retired, a new key signs from now on.
 * Run it at intervals longer than the access-token lifetime.
 */
export async function rotateSigningKeys(db: Kysely<Database>, now = new Date()): Promise<{ kid: string; previous: string | null }> {
  const row = await newKeyRow(now)
  return db.transaction().execute(async (trx) => {
    // Serialise concurrent rotations (PostgreSQL); PGlite is single-connection anyway.
    await sql`lock table signing_keys in exclusive mode`.execute(trx)
    await trx.updateTable('signing_keys').set({ status: 'retired' }).where('status', '=', 'previous').execute()
    const prev = await trx.updateTable('signing_keys').set({ status: 'previous' }).where('status', '=', 'current').returning('kid').executeTakeFirst()
    await trx.insertInto('signing_keys').values({ ...row, status: 'current' }).execute()
    return { kid: row.kid, previous: prev?.kid ?? null }
  })
}

/**
 * The signing keys as this process sees them. Reloaded from the database every `refreshMs` and
 * on an unknown `kid` (at most once per `missReloadMs`), so a rotation made by another process or
 * by `latchkey-server rotate-keys` is picked up without a restart.
 */
export class KeyStore {
  #keys: LoadedKey[] = []
  #loadedAt = 0
  #lastMissReload = 0
  #loading: Promise<void> | undefined

  constructor(
    private readonly db: Kysely<Database>,
    private readonly opts: { refreshMs?: number; missReloadMs?: number } = {},
  ) {}

  async load(): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const rows = await this.db.selectFrom('signing_keys').selectAll().where('status', 'in', ['current', 'previous']).execute()
        const keys: LoadedKey[] = []
        for (const r of rows) {
          if (r.alg !== ACCESS_TOKEN_ALG) continue
          const publicJwk = JSON.parse(r.public_jwk) as JWK
          keys.push({
            kid: r.kid,
            status: r.status as 'current' | 'previous',
            publicJwk,
            publicKey: await importJWK(publicJwk, ACCESS_TOKEN_ALG),
            privateJwk: JSON.parse(r.private_jwk) as JWK,
          })
        }
        keys.sort((a, b) => (a.status === b.status ? 0 : a.status === 'current' ? -1 : 1))
        this.#keys = keys
        this.#loadedAt = Date.now()
      } finally {
        this.#loading = undefined
      }
    })()
    return this.#loading
  }

  async #fresh(): Promise<void> {
    if (Date.now() - this.#loadedAt > (this.opts.refreshMs ?? 60_000) || this.#keys.length === 0) await this.load()
  }

  #signing: { kid: string; key: CryptoKeyLike } | undefined

  async signingKey(): Promise<{ kid: string; key: CryptoKeyLike }> {
    await this.#fresh()
    const current = this.#keys.find((k) => k.status === 'current')
    if (!current) throw new Error('no current signing key')
    if (this.#signing?.kid !== current.kid) this.#signing = { kid: current.kid, key: await importJWK(current.privateJwk, ACCESS_TOKEN_ALG) }
    return this.#signing
  }

  /** The public key for a `kid`, or undefined when no published key has it. */
  async publicKey(kid: string | undefined): Promise<CryptoKeyLike | undefined> {
    if (typeof kid !== 'string') return undefined
    await this.#fresh()
    let found = this.#keys.find((k) => k.kid === kid)
    if (!found && Date.now() - this.#lastMissReload > (this.opts.missReloadMs ?? 5_000)) {
      this.#lastMissReload = Date.now()
      await this.load()
      found = this.#keys.find((k) => k.kid === kid)
    }
    return found?.publicKey
  }

  /** RFC 7517 JWK Set of the published (current and previous) public keys. */
  async jwks(): Promise<{ keys: JWK[] }> {
    await this.#fresh()
    return { keys: this.#keys.map((k) => k.publicJwk) }
  }
}
