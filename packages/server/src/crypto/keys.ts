import { createCipheriv, createDecipheriv, createPrivateKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto'
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

/**
 * Private signing keys at rest (security review finding 6; OWASP ASVS 5.0 V11.4/V13.3 — secrets
 * and key material are not stored in clear, NIST SP 800-57 Part 1 §6.2.1: private signature keys
 * need confidentiality protection in storage). With LATCHKEY_SECRET set, `signing_keys.private_jwk`
 * holds `enc:v1:<iv>.<ciphertext‖tag>` (base64url), AES-256-GCM under a key derived from the
 * secret by HKDF-SHA256 with its own `info` label — a different key from the refresh-token MAC
 * key (key separation, SP 800-57 §5.2). The row's `kid` is the additional authenticated data, so
 * a ciphertext cannot be moved to another row. Without the secret a database read still yields
 * the private key: the server warns at start and refuses to start in production.
 */
const ENC_PREFIX = 'enc:v1:'
const HKDF_INFO = 'latchkey signing-key encryption v1'

export class SigningKeyDecryptionError extends Error {
  override name = 'SigningKeyDecryptionError'
}

export class KeyCipher {
  readonly #key: Buffer
  /** `info` separates the keys derived from one secret for different uses (RFC 5869 §3.2). */
  constructor(secret: string, info = HKDF_INFO) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, 'latchkey', info, 32))
  }

  encrypt(kid: string, plaintext: string): string {
    const iv = randomBytes(12)
    const c = createCipheriv('aes-256-gcm', this.#key, iv).setAAD(Buffer.from(kid))
    const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final(), c.getAuthTag()])
    return `${ENC_PREFIX}${iv.toString('base64url')}.${body.toString('base64url')}`
  }

  decrypt(kid: string, stored: string): string {
    const [iv, body] = stored.slice(ENC_PREFIX.length).split('.')
    const data = Buffer.from(body ?? '', 'base64url')
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv ?? '', 'base64url')).setAAD(Buffer.from(kid))
      d.setAuthTag(data.subarray(data.length - 16))
      return Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]).toString('utf8')
    } catch {
      throw new SigningKeyDecryptionError(
        `signing key ${kid} cannot be decrypted: LATCHKEY_SECRET is not the secret the signing keys were encrypted with`,
      )
    }
  }
}

export const isEncryptedJwk = (stored: string): boolean => stored.startsWith(ENC_PREFIX)

/** The private JWK of a row, decrypted when it is stored encrypted. */
export function readPrivateJwk(kid: string, stored: string, cipher: KeyCipher | undefined): JWK {
  if (!isEncryptedJwk(stored)) return JSON.parse(stored) as JWK
  if (!cipher) {
    throw new SigningKeyDecryptionError(`signing key ${kid} is stored encrypted: set LATCHKEY_SECRET to the secret it was encrypted with`)
  }
  return JSON.parse(cipher.decrypt(kid, stored)) as JWK
}

/**
 * Startup step under the migration lock: with a cipher, encrypts every private key still stored
 * in clear (keys written before LATCHKEY_SECRET was set) and checks that the encrypted ones
 * decrypt, so a wrong secret stops the start with a clear error instead of failing later.
 * Without one, refuses to start over encrypted keys.
 */
export async function protectStoredKeys(trx: Transaction<Database> | Kysely<Database>, cipher: KeyCipher | undefined): Promise<void> {
  const rows = await trx.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute()
  for (const r of rows) {
    if (isEncryptedJwk(r.private_jwk)) readPrivateJwk(r.kid, r.private_jwk, cipher)
    else if (cipher) await trx.updateTable('signing_keys').set({ private_jwk: cipher.encrypt(r.kid, r.private_jwk) }).where('kid', '=', r.kid).execute()
  }
}

interface LoadedKey {
  kid: string
  status: 'current' | 'previous'
  publicJwk: JWK
  publicKey: CryptoKeyLike
  privateJwk: JWK
}

async function newKeyRow(now: Date, cipher: KeyCipher | undefined) {
  const { privateKey, publicKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true })
  const kid = randomBytes(12).toString('base64url')
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: ACCESS_TOKEN_ALG, use: 'sig' }
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALG, use: 'sig' }
  return { kid, alg: ACCESS_TOKEN_ALG, private_jwk: cipher ? cipher.encrypt(kid, JSON.stringify(privateJwk)) : JSON.stringify(privateJwk), public_jwk: JSON.stringify(publicJwk), created_at: now }
}

/** Creates the first signing key when there is none (run under the migration lock). */
export async function ensureSigningKey(trx: Transaction<Database> | Kysely<Database>, now = new Date(), cipher?: KeyCipher): Promise<void> {
  const current = await trx.selectFrom('signing_keys').select('kid').where('status', '=', 'current').executeTakeFirst()
  if (current) return
  await trx.insertInto('signing_keys').values({ ...(await newKeyRow(now, cipher)), status: 'current' }).execute()
}

/** PostgreSQL NOTIFY channel a rotation announces its new `kid` on (delivered at commit to every listening process). */
export const KEY_ROTATION_CHANNEL = 'latchkey_signing_keys'

export interface RotationResult {
  kid: string
  previous: string | null
}

/**
 * Key rotation: the current key becomes `previous` (still published in the JWKS, so tokens it
 * signed verify until they expire), the old `previous` is retired, a new key signs from now on.
 * Run it at intervals longer than the access-token lifetime (the key it retires must have stopped
 * signing at least one access-token lifetime ago). Pass `cipher` (new KeyCipher(secret))
 * when LATCHKEY_SECRET is set: the new private key is then stored encrypted; without it the
 * rotation is refused while the table holds encrypted keys. Every process listening on
 * KEY_ROTATION_CHANNEL (PostgreSQL) reloads its key set when the transaction commits.
 */
export async function rotateSigningKeys(db: Kysely<Database>, now = new Date(), cipher?: KeyCipher): Promise<RotationResult> {
  const result = await rotateSigningKeysIfOlderThan(db, now, 0, cipher)
  if (!result) throw new Error('rotation did not happen')
  return result
}

/**
 * Scheduled rotation: rotates only when the current key was made `maxAgeSeconds` or more before
 * `now` (NIST SP 800-57 Part 1 Rev. 5 §5.3: a key is used for a bounded cryptoperiod, then
 * replaced). The age is read under the table lock, so several processes running the same schedule
 * on one database rotate once, not once each. Null when the current key is younger.
 */
export async function rotateSigningKeysIfOlderThan(db: Kysely<Database>, now: Date, maxAgeSeconds: number, cipher?: KeyCipher): Promise<RotationResult | null> {
  const row = await newKeyRow(now, cipher)
  return db.transaction().execute(async (trx) => {
    // Serialise concurrent rotations (PostgreSQL); PGlite is single-connection anyway.
    await sql`lock table signing_keys in exclusive mode`.execute(trx)
    if (maxAgeSeconds > 0) {
      const current = await trx.selectFrom('signing_keys').select('created_at').where('status', '=', 'current').executeTakeFirst()
      if (current && now.getTime() - new Date(current.created_at).getTime() < maxAgeSeconds * 1000) return null
    }
    // With encrypted keys in the table, a key written in clear would undo finding 6's protection.
    if (!cipher) {
      const rows = await trx.selectFrom('signing_keys').select('private_jwk').execute()
      if (rows.some((r) => isEncryptedJwk(r.private_jwk))) {
        throw new SigningKeyDecryptionError('the signing keys are stored encrypted: rotate with the KeyCipher of LATCHKEY_SECRET (the CLI does so when LATCHKEY_SECRET is set)')
      }
    }
    await trx.updateTable('signing_keys').set({ status: 'retired' }).where('status', '=', 'previous').execute()
    const prev = await trx.updateTable('signing_keys').set({ status: 'previous' }).where('status', '=', 'current').returning('kid').executeTakeFirst()
    await trx.insertInto('signing_keys').values({ ...row, status: 'current' }).execute()
    await sql`select pg_notify(${KEY_ROTATION_CHANNEL}, ${row.kid})`.execute(trx)
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
    private readonly opts: { refreshMs?: number; missReloadMs?: number; cipher?: KeyCipher } = {},
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
            privateJwk: readPrivateJwk(r.kid, r.private_jwk, this.opts.cipher),
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

  #signing: { kid: string; key: CryptoKeyLike; keyObject: KeyObject } | undefined

  /**
   * The current signing key: as a WebCrypto key (jose) and as a node:crypto KeyObject, which signs
   * synchronously without a trip through the thread pool (crypto/jwt.ts `signAccessToken`).
   */
  async signingKey(): Promise<{ kid: string; key: CryptoKeyLike; keyObject: KeyObject }> {
    await this.#fresh()
    const current = this.#keys.find((k) => k.status === 'current')
    if (!current) throw new Error('no current signing key')
    if (this.#signing?.kid !== current.kid) {
      this.#signing = {
        kid: current.kid,
        key: await importJWK(current.privateJwk, ACCESS_TOKEN_ALG),
        keyObject: createPrivateKey({ key: current.privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' }),
      }
    }
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
