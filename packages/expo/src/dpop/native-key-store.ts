import { p256 } from '@noble/curves/nist.js'
import { base64Url, type DpopKey, type DpopKeyStore, type SessionStorage } from '@latchkey/core'

export interface NativeDpopKeyStoreOptions {
  /** Where the private key is kept: the secure-store storage the session uses (atomic, any size). */
  storage: SessionStorage
  /** The storage key (default `latchkey.session.dpop`: `sessionStorageKeys(storageKey).dpop`). */
  key?: string
  /**
   * Cryptographically secure random bytes, for the key and each proof's `jti`. Default:
   * `crypto.getRandomValues` (Hermes has none of its own: install `expo-crypto` and pass
   * `getRandomBytes`, or load a `getRandomValues` polyfill first).
   */
  randomBytes?: (length: number) => Uint8Array
}

interface StoredKey {
  v: 1
  alg: 'ES256'
  /** The P-256 private scalar, base64url (never leaves the secure store but to sign). */
  d: string
  x: string
  y: string
}

function defaultRandomBytes(length: number): Uint8Array {
  const crypto = (globalThis as { crypto?: { getRandomValues?(a: Uint8Array): Uint8Array } }).crypto
  if (typeof crypto?.getRandomValues !== 'function') {
    throw new TypeError('nativeDpopKeyStore: no crypto.getRandomValues here; pass randomBytes (expo-crypto getRandomBytes)')
  }
  return crypto.getRandomValues(new Uint8Array(length))
}

const fromBase64Url = (text: string): Uint8Array => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const out: number[] = []
  let buffer = 0
  let bits = 0
  for (const ch of text) {
    const v = alphabet.indexOf(ch)
    if (v < 0) throw new TypeError('not base64url')
    buffer = (buffer << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out.push((buffer >> bits) & 0xff)
    }
  }
  return new Uint8Array(out)
}

/** The secret of each key this store made, out of reach of the key object itself. */
const secrets = new WeakMap<DpopKey, Uint8Array>()

function keyFrom(secret: Uint8Array): DpopKey {
  // SEC 1 §2.3.3 uncompressed point: 0x04 ‖ x ‖ y, 32 bytes each for P-256.
  const point = p256.getPublicKey(secret, false)
  const key: DpopKey = {
    alg: 'ES256',
    publicJwk: { kty: 'EC', crv: 'P-256', x: base64Url(point.subarray(1, 33)), y: base64Url(point.subarray(33, 65)) },
    // RFC 7518 §3.4: ES256 is ECDSA over SHA-256 of the signing input, the signature r ‖ s
    // (noble's `compact` format; RFC 6979 deterministic nonces).
    sign: async (input) => p256.sign(input, secret, { prehash: true, format: 'compact' }),
  }
  secrets.set(key, secret)
  return key
}

/**
 * A device key per session on iOS and Android: P-256 in JavaScript with `@noble/curves`
 * (audited, runs on Hermes), the private key kept in the secure store (Keychain / Keystore-wrapped
 * SharedPreferences) through the session's own atomic storage, so it is as protected as the
 * refresh token it binds. It is not hardware-backed: the OS protects it at rest, JS uses it.
 */
export function createNativeDpopKeyStore(options: NativeDpopKeyStoreOptions): DpopKeyStore {
  const storageKey = options.key ?? 'latchkey.session.dpop'
  const random = options.randomBytes ?? defaultRandomBytes
  return {
    async generate() {
      // FIPS 186-5 A.2.1-style: 48 random bytes reduced mod n, so the scalar is uniform.
      return keyFrom(p256.utils.randomSecretKey(random(48)))
    },
    async load() {
      const raw = await options.storage.getItem(storageKey)
      if (raw === null) return null
      let stored: StoredKey
      try {
        stored = JSON.parse(raw) as StoredKey
        if (stored.v !== 1 || stored.alg !== 'ES256' || typeof stored.d !== 'string') throw new TypeError('unknown key record')
      } catch {
        // A record we cannot read is no key: the bound session cannot prove anything (it ends).
        return null
      }
      return keyFrom(fromBase64Url(stored.d))
    },
    async save(key) {
      const secret = secrets.get(key)
      if (!secret) throw new TypeError('nativeDpopKeyStore: save() takes a key this store generated')
      const record: StoredKey = { v: 1, alg: 'ES256', d: base64Url(secret), x: key.publicJwk.x!, y: key.publicJwk.y! }
      await options.storage.setItem(storageKey, JSON.stringify(record))
    },
    delete: () => options.storage.removeItem(storageKey),
    randomBytes: random,
  }
}
