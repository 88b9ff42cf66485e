import type { SessionStorage } from '@latchkey/core'
import { isLatchkeyExpoError } from '../errors.js'
import { SecureStoreError, classifySecureStoreError, invalidated, isSecureStoreAuthCancel } from './errors.js'
import type { SecureStoreCallOptions, SecureStoreModule } from './types.js'
import { fnv1a, splitUtf8, utf8Length } from './utf8.js'

/*
 * Why chunks under a generation with a commit record written last (and not an envelope):
 *
 * OWASP MASVS-STORAGE-1 asks that sensitive data live in the platform's secure storage
 * (Keychain / Keystore-backed storage), not in files next to it. An envelope (a key in the secure
 * store, AES-GCM ciphertext in AsyncStorage or a file) would put the tokens outside it, add a
 * crypto dependency the JS runtime does not ship, and make atomicity depend on two stores that
 * cannot be updated together. Chunks keep every secret byte inside expo-secure-store.
 *
 * Layout for key K:
 *   K                      the commit record: `lk1=<value>` (small values, one native item) or
 *                          `lk1#{"g":gen,"n":count,"b":bytes,"h":hash}` (a manifest)
 *   K.lk-c.<gen>.<i>       the pieces of generation <gen>, each at most `chunkSize` UTF-8 bytes
 *   K.lk-j                 the journal: generations that may exist on disk but must not survive
 *
 * A write puts the new generation's name in the journal, writes its pieces under fresh keys,
 * then swaps the commit record in one native call (a single Keychain/Keystore item write is
 * atomic), then deletes the previous generation and the journal. A crash before the swap leaves
 * the old record pointing at untouched old pieces; a crash after it leaves the new one complete.
 * Whatever a crash left behind is named in the journal, and the next write (or remove) deletes
 * every journalled generation except the committed one: no orphans after the next success.
 * Small values cost one read and no pieces; a large value costs one extra read per piece, all
 * issued together (two round trips in all; one at a time behind `requireAuthentication`).
 *
 * Secrets never leave the secure store; the commit record and journal hold no secret bytes when
 * a value is chunked. With `requireAuthentication` every value is chunked, so the commit record
 * stays readable without a prompt and a piece that the OS invalidated (Android returns null for
 * a permanently invalidated key) is told apart from "no session".
 */

export interface SecureStoreStorageOptions {
  /** The expo-secure-store module (`import * as SecureStore from 'expo-secure-store'`). */
  secureStore: SecureStoreModule
  keychainService?: string
  /** Default `SecureStore.WHEN_UNLOCKED_THIS_DEVICE_ONLY`: never synced, never in a backup. */
  keychainAccessible?: number
  /** Bind the value to the user's biometrics/passcode (SecureStore's own prompt on read). */
  requireAuthentication?: boolean
  authenticationPrompt?: string
  /**
   * Largest native item in UTF-8 bytes (default 2048: older iOS and Android releases fail
   * above it; newer ones do not). Larger values are split into pieces.
   */
  chunkSize?: number
  /** Source of generation names (default Math.random). */
  random?: () => number
}

const INLINE = 'lk1='
const MANIFEST = 'lk1#'
const KEY_RULE = /^[A-Za-z0-9._-]+$/

interface Manifest {
  g: string
  n: number
  b: number
  h: string
  /** 1: the pieces were written with `requireAuthentication`. */
  a?: 1
}
type Head = { kind: 'none' } | { kind: 'value'; value: string } | { kind: 'chunked'; manifest: Manifest }
interface JournalEntry {
  g: string
  n: number
}

function parseHead(raw: string | null): Head {
  if (raw === null) return { kind: 'none' }
  if (raw.startsWith(INLINE)) return { kind: 'value', value: raw.slice(INLINE.length) }
  if (raw.startsWith(MANIFEST)) {
    try {
      const m = JSON.parse(raw.slice(MANIFEST.length)) as Manifest
      if (typeof m.g === 'string' && Number.isInteger(m.n) && m.n >= 1 && typeof m.b === 'number' && typeof m.h === 'string') {
        return { kind: 'chunked', manifest: m }
      }
    } catch {
      // fall through: an unreadable manifest is reported below
    }
    throw invalidated(new Error('secure-store commit record is unreadable'))
  }
  // A value written before this adapter (plain SecureStore.setItemAsync) is read as is.
  return { kind: 'value', value: raw }
}

function parseJournal(raw: string | null): JournalEntry[] {
  if (raw === null) return []
  try {
    const parsed: unknown = JSON.parse(raw)
    if (!Array.isArray(parsed)) return []
    return parsed.filter((e): e is JournalEntry => typeof e?.g === 'string' && Number.isInteger(e?.n) && e.n >= 0 && e.n < 100_000)
  } catch {
    return []
  }
}

export function assertSecureStoreKey(key: string): void {
  if (typeof key !== 'string' || !KEY_RULE.test(key)) {
    throw new TypeError('secure-store keys must be non-empty and use only A-Z a-z 0-9 . _ -')
  }
}

type KeyQueues = Map<string, Promise<unknown>>

// Per-key queues shared by every instance over one (module object, keychainService); a WeakMap: no lifecycle to start at import, and a dropped module object takes its queues with it.
const queueRegistry = new WeakMap<SecureStoreModule, Map<string | undefined, KeyQueues>>()

function sharedQueues(store: SecureStoreModule, service: string | undefined): KeyQueues {
  let services = queueRegistry.get(store)
  if (!services) queueRegistry.set(store, (services = new Map()))
  let queues = services.get(service)
  if (!queues) services.set(service, (queues = new Map()))
  return queues
}

/** The core's SessionStorage on expo-secure-store: any size, atomic, byte-accurate. */
export function createSecureStoreStorage(options: SecureStoreStorageOptions): SessionStorage {
  const store = options.secureStore
  const chunkSize = options.chunkSize ?? 2048
  if (!Number.isInteger(chunkSize) || chunkSize < 64) throw new RangeError('secureStoreStorage: chunkSize must be an integer >= 64')
  const random = options.random ?? Math.random
  const plain: SecureStoreCallOptions = {
    keychainAccessible: options.keychainAccessible ?? store.WHEN_UNLOCKED_THIS_DEVICE_ONLY,
  }
  if (options.keychainService !== undefined) plain.keychainService = options.keychainService
  const secret: SecureStoreCallOptions = { ...plain }
  if (options.requireAuthentication) {
    secret.requireAuthentication = true
    if (options.authenticationPrompt !== undefined) secret.authenticationPrompt = options.authenticationPrompt
  }

  const chunkKey = (key: string, g: string, i: number) => `${key}.lk-c.${g}.${i}`
  const journalKey = (key: string) => `${key}.lk-j`

  // One operation per key at a time in this JS context, across every instance over this module and
  // keychainService: a read must not see a half-finished write, and two writes must not interleave.
  const queues = sharedQueues(store, options.keychainService)
  const serial = <T>(key: string, task: () => Promise<T>): Promise<T> => {
    const result = (queues.get(key) ?? Promise.resolve()).then(task)
    const tail = result.catch(() => undefined)
    queues.set(key, tail)
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key)
    })
    return result
  }

  const read = async (key: string, opts: SecureStoreCallOptions): Promise<string | null> => {
    try {
      return await store.getItemAsync(key, opts)
    } catch (error) {
      if (classifySecureStoreError(error) === 'invalidated') throw invalidated(error)
      if (isSecureStoreAuthCancel(error)) throw new SecureStoreError('LK_SECURE_STORE_AUTH_CANCELLED', 'getItem', 'the OS authentication prompt was cancelled; nothing was deleted', { cause: error })
      throw new SecureStoreError('LK_SECURE_STORE_UNAVAILABLE', 'getItem', 'secure store is not readable right now; nothing was deleted', { cause: error })
    }
  }
  const write = async (operation: 'setItem' | 'removeItem', run: () => Promise<void>) => {
    try {
      await run()
    } catch (error) {
      throw new SecureStoreError('LK_SECURE_STORE_WRITE', operation, `secure store ${operation} failed`, { cause: error })
    }
  }

  /** The commit record, for a write: an undecryptable old record is simply replaced. */
  const headForWrite = async (key: string): Promise<Head> => {
    try {
      return parseHead(await read(key, plain))
    } catch (error) {
      if (isLatchkeyExpoError(error) && error.code === 'LK_CREDENTIAL_INVALIDATED') return { kind: 'none' }
      throw error
    }
  }

  /** The journal; an undecryptable one names nothing we could still find, a transient failure stops the write. */
  const readJournal = async (key: string): Promise<JournalEntry[]> => {
    try {
      return parseJournal(await read(journalKey(key), plain))
    } catch (error) {
      if (isLatchkeyExpoError(error) && error.code === 'LK_CREDENTIAL_INVALIDATED') return []
      throw error
    }
  }

  const newGeneration = (taken: Set<string>) => {
    for (;;) {
      const g = Math.floor(random() * 36 ** 6).toString(36).padStart(6, '0')
      if (!taken.has(g)) return g
    }
  }

  const deleteGeneration = async (operation: 'setItem' | 'removeItem', key: string, e: JournalEntry) => {
    for (let i = 0; i < e.n; i++) await write(operation, () => store.deleteItemAsync(chunkKey(key, e.g, i), secret))
  }

  /**
   * The pieces, in order, up to the first missing one (null); the first failure in piece order is
   * thrown, as if they had been read one after another. Plain pieces are read together: one round
   * trip whatever their number. Pieces behind the OS prompt are read one at a time: each read is
   * a prompt, and Android refuses a second one while one is showing.
   */
  const readPieces = async (keys: string[], prompted: boolean): Promise<(string | null)[]> => {
    if (prompted) {
      const out: (string | null)[] = []
      for (const k of keys) {
        const piece = await read(k, secret)
        out.push(piece)
        if (piece === null) break
      }
      return out
    }
    const settled = await Promise.allSettled(keys.map((k) => read(k, secret)))
    const out: (string | null)[] = []
    for (const r of settled) {
      if (r.status === 'rejected') throw r.reason
      out.push(r.value)
      if (r.value === null) break
    }
    return out
  }

  const readChunked = async (key: string, m: Manifest): Promise<string | 'moved'> => {
    const keys = Array.from({ length: m.n }, (_, i) => chunkKey(key, m.g, i))
    const pieces = await readPieces(keys, options.requireAuthentication === true || m.a === 1)
    if (pieces.includes(null)) {
      // Another context may have committed and collected meanwhile; otherwise the piece was
      // invalidated by the OS (Android answers null for a permanently invalidated key).
      const again = parseHead(await read(key, plain))
      if (again.kind !== 'chunked' || again.manifest.g !== m.g) return 'moved'
      throw invalidated(new Error('a piece of the stored value is missing'))
    }
    const value = pieces.join('')
    if (utf8Length(value) !== m.b || fnv1a(value) !== m.h) throw invalidated(new Error('the stored value does not match its commit record'))
    return value
  }

  return {
    // async: an invalid key rejects the returned promise. The body runs synchronously up to
    // serial(), so operations still join the queue in call order.
    async getItem(key) {
      assertSecureStoreKey(key)
      return serial(key, async () => {
        for (let attempt = 0; attempt < 3; attempt++) {
          const head = parseHead(await read(key, plain))
          if (head.kind === 'none') return null
          if (options.requireAuthentication && (head.kind === 'value' || head.manifest.a !== 1)) {
            throw invalidated(new Error('the stored value was not written with requireAuthentication; it is not accepted without the OS prompt'))
          }
          if (head.kind === 'value') return head.value
          const value = await readChunked(key, head.manifest)
          if (value !== 'moved') return value
        }
        throw new SecureStoreError('LK_SECURE_STORE_UNAVAILABLE', 'getItem', 'the stored value kept changing while it was read')
      })
    },

    async setItem(key, value) {
      assertSecureStoreKey(key)
      if (typeof value !== 'string') throw new TypeError('secure-store values must be strings')
      return serial(key, async () => {
        const head = await headForWrite(key)
        const journal = await readJournal(key)
        const committed = head.kind === 'chunked' ? head.manifest : null
        // Generations a crashed write left behind.
        for (const e of journal) if (e.g !== committed?.g) await deleteGeneration('setItem', key, e)

        const inline = !options.requireAuthentication && utf8Length(value) + INLINE.length <= chunkSize
        const pieces = inline ? null : splitUtf8(value, chunkSize)
        const next: Manifest | null = pieces
          ? {
            g: newGeneration(new Set([...journal.map((e) => e.g), committed?.g ?? ''])), n: pieces.length, b: utf8Length(value), h: fnv1a(value),
            ...(options.requireAuthentication ? { a: 1 as const } : {}),
          }
          : null
        const pending: JournalEntry[] = [...(committed ? [{ g: committed.g, n: committed.n }] : []), ...(next ? [{ g: next.g, n: next.n }] : [])]

        if (pending.length > 0) await write('setItem', () => store.setItemAsync(journalKey(key), JSON.stringify(pending), plain))
        if (next && pieces) {
          for (let i = 0; i < pieces.length; i++) await write('setItem', () => store.setItemAsync(chunkKey(key, next.g, i), pieces[i]!, secret))
        }
        // The commit: one native item write.
        const record = next ? MANIFEST + JSON.stringify(next) : INLINE + value
        await write('setItem', () => store.setItemAsync(key, record, plain))
        if (committed) await deleteGeneration('setItem', key, committed)
        if (pending.length > 0 || journal.length > 0) await write('setItem', () => store.deleteItemAsync(journalKey(key), plain))
      })
    },

    async removeItem(key) {
      assertSecureStoreKey(key)
      return serial(key, async () => {
        const head = await headForWrite(key)
        const journal = await readJournal(key)
        const committed = head.kind === 'chunked' ? head.manifest : null
        const garbage = committed && !journal.some((e) => e.g === committed.g) ? [...journal, { g: committed.g, n: committed.n }] : journal
        if (committed) await write('removeItem', () => store.setItemAsync(journalKey(key), JSON.stringify(garbage), plain))
        await write('removeItem', () => store.deleteItemAsync(key, plain))
        for (const e of garbage) await deleteGeneration('removeItem', key, e)
        if (garbage.length > 0) await write('removeItem', () => store.deleteItemAsync(journalKey(key), plain))
      })
    },
  }
}
