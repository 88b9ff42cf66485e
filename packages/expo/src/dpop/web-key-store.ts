import type { DpopKey, DpopKeyStore } from '@latchkey/core'

/** The slices of `indexedDB` and `crypto.subtle` this store uses (injectable for tests). */
export interface WebDpopKeyStoreOptions {
  indexedDB?: IDBFactory
  subtle?: SubtleCrypto
  /** Database name (default `latchkey`). */
  database?: string
  /** Record name inside it (default `latchkey.session.dpop`). */
  key?: string
}

const STORE = 'dpop-keys'

interface StoredWebKey {
  privateKey: CryptoKey
  publicJwk: Record<string, string>
}

const request = <T>(r: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'))
  })

/**
 * A device key per session in the browser: a WebCrypto ECDSA P-256 key generated
 * non-extractable (W3C WebCrypto §14.3.4: its private half can be used, never exported, even by
 * script on the page), kept in IndexedDB, which stores the CryptoKey object itself (structured
 * clone), so the key survives reloads without ever existing as bytes in JS.
 */
export function createWebDpopKeyStore(options: WebDpopKeyStoreOptions = {}): DpopKeyStore {
  const idb = options.indexedDB ?? globalThis.indexedDB
  const subtle = options.subtle ?? globalThis.crypto?.subtle
  const name = options.key ?? 'latchkey.session.dpop'
  let db: Promise<IDBDatabase> | null = null
  const open = () => {
    if (!idb || !subtle) throw new TypeError('webDpopKeyStore: needs indexedDB and crypto.subtle (a secure context)')
    db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const r = idb.open(options.database ?? 'latchkey', 1)
      r.onupgradeneeded = () => r.result.createObjectStore(STORE)
      r.onsuccess = () => resolve(r.result)
      r.onerror = () => {
        db = null
        reject(r.error ?? new Error('could not open IndexedDB'))
      }
    })
    return db
  }
  const tx = async (mode: IDBTransactionMode) => (await open()).transaction(STORE, mode).objectStore(STORE)
  /** Reading or deleting must not create the database (a session that never had a key leaves none). */
  const mayExist = async () => {
    if (db || typeof idb?.databases !== 'function') return true
    const names = await idb.databases().then((list) => list.map((d) => d.name), () => null)
    return names === null || names.includes(options.database ?? 'latchkey')
  }
  const stored = new WeakMap<DpopKey, StoredWebKey>()
  const keyFrom = (record: StoredWebKey): DpopKey => {
    const key: DpopKey = {
      alg: 'ES256',
      publicJwk: record.publicJwk,
      // WebCrypto's ECDSA signature is r ‖ s (IEEE P1363), exactly ES256's (RFC 7518 §3.4).
      sign: async (input) => new Uint8Array(await subtle!.sign({ name: 'ECDSA', hash: 'SHA-256' }, record.privateKey, input as BufferSource)),
    }
    stored.set(key, record)
    return key
  }
  return {
    async generate() {
      if (!subtle) throw new TypeError('webDpopKeyStore: needs crypto.subtle (a secure context)')
      const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
      const { kty, crv, x, y } = await subtle.exportKey('jwk', pair.publicKey)
      return keyFrom({ privateKey: pair.privateKey, publicJwk: { kty: kty!, crv: crv!, x: x!, y: y! } })
    },
    async load() {
      if (!(await mayExist())) return null
      const record = (await request((await tx('readonly')).get(name))) as StoredWebKey | undefined
      return record?.privateKey && record.publicJwk ? keyFrom(record) : null
    },
    async save(key) {
      const record = stored.get(key)
      if (!record) throw new TypeError('webDpopKeyStore: save() takes a key this store generated')
      await request((await tx('readwrite')).put(record, name))
    },
    async delete() {
      if (!(await mayExist())) return
      await request((await tx('readwrite')).delete(name))
    },
  }
}
