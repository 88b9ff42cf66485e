import type { SecureStoreCallOptions, SecureStoreModule } from '../storage/types.js'

/**
 * A fake of the expo-secure-store module with the same surface and the same failure modes, so
 * the storage logic is tested under Node. What it enforces, after the real module (v57):
 * - keys: non-empty, `[A-Za-z0-9._-]` only (`/^[\w.-]+$/`, checked in JS before the native call);
 *   values must be strings;
 * - items are partitioned by `keychainService` (an item written with one is read with it);
 * - an optional value size limit (older iOS/Android releases fail above 2048 bytes);
 * - per-call latency through an injected delay function;
 * - a crash at the k-th native call: that call throws (its write applied or not, as chosen) and
 *   every later call throws too, as if the process died, until `restart()`;
 * - invalidated keys: a read throws like Android's DecryptException (`ERR_DECRYPT`), or returns
 *   null as the real module does for KeyPermanentlyInvalidatedException (`mode: 'null'`);
 * - "device locked before first unlock": reads and writes throw iOS's errSecInteractionNotAllowed
 *   (`ERR_KEY_CHAIN`, "User interaction is not allowed.") and nothing changes;
 * - `requireAuthentication`: reading such an item is the OS's own prompt (`setAuthenticator`
 *   scripts the user's answer, `osPrompts` counts them); no JS callback elsewhere (for example
 *   expo-local-authentication's `authenticateAsync`) can stand in for it;
 * - `canUseBiometricAuthentication()` (sync, like the real one): whether biometrics are enrolled
 *   and sufficient for `requireAuthentication` (`setBiometricsAvailable`, default true);
 * - a log of every native call (op, key, options), values never logged.
 */

export type FakeCallOp = 'get' | 'set' | 'delete'
export interface FakeCall {
  op: FakeCallOp
  key: string
  options: SecureStoreCallOptions
}

interface Item {
  value: string
  requireAuthentication: boolean
  keychainAccessible: number | undefined
  invalidated?: 'throw' | 'null'
}

export interface FakeSecureStoreOptions {
  /** Reject values above this many UTF-8 bytes, like older platforms (e.g. 2048). */
  maxValueBytes?: number
  /** Latency per native call in ms (a number or a function of the call). */
  latency?: number | ((call: FakeCall) => number)
  /** How latency is spent; default a real setTimeout. */
  delay?: (ms: number) => Promise<void>
}

export const WHEN_UNLOCKED_THIS_DEVICE_ONLY = 6
export const AFTER_FIRST_UNLOCK = 0

const coded = (code: string, message: string) => Object.assign(new Error(message), { code })
const utf8Bytes = (s: string) => new TextEncoder().encode(s).length

export function createFakeSecureStore(options: FakeSecureStoreOptions = {}) {
  const services = new Map<string, Map<string, Item>>()
  const calls: FakeCall[] = []
  let crashAt: { call: number; applied: boolean } | null = null
  let crashed = false
  let deviceLocked = false
  let onAuthenticate: (() => 'success' | 'cancel') | null = null
  let osPrompts = 0
  let biometricsAvailable = true
  const delay = options.delay ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))

  const bucket = (service: string | undefined) => {
    const name = service ?? ''
    let b = services.get(name)
    if (!b) services.set(name, (b = new Map()))
    return b
  }

  const ensureValidKey = (key: unknown) => {
    if (typeof key !== 'string' || !/^[\w.-]+$/.test(key)) {
      throw new Error('Invalid key provided to SecureStore. Keys must not be empty and contain only alphanumeric characters, ".", "-", and "_".')
    }
  }

  /** Runs one native call: log, latency, crash injection, device lock. */
  const native = async <T>(call: FakeCall, run: () => T): Promise<T> => {
    if (crashed) throw coded('ERR_FAKE_CRASHED', 'process is gone (fake crash)')
    calls.push(call)
    const ms = typeof options.latency === 'function' ? options.latency(call) : (options.latency ?? 0)
    if (ms > 0) await delay(ms)
    if (crashAt && calls.length === crashAt.call) {
      const applied = crashAt.applied
      crashAt = null
      crashed = true
      if (applied) {
        try {
          run()
        } catch {
          // the crash wins
        }
      }
      throw coded('ERR_FAKE_CRASH', `fake crash at native call ${calls.length}`)
    }
    if (deviceLocked) throw coded('ERR_KEY_CHAIN', 'User interaction is not allowed.')
    return run()
  }

  const needsAuth = (item: Item) => {
    if (!item.requireAuthentication) return
    osPrompts++
    const answer = onAuthenticate?.() ?? 'success'
    if (answer === 'cancel') throw coded('ERR_KEY_CHAIN', 'User canceled the operation.')
  }

  const module: SecureStoreModule & {
    canUseBiometricAuthentication(): boolean
    WHEN_UNLOCKED_THIS_DEVICE_ONLY: number
    AFTER_FIRST_UNLOCK: number
  } = {
    WHEN_UNLOCKED_THIS_DEVICE_ONLY,
    AFTER_FIRST_UNLOCK,
    canUseBiometricAuthentication: () => biometricsAvailable,
    async getItemAsync(key, opts = {}) {
      ensureValidKey(key)
      return native({ op: 'get', key, options: { ...opts } }, () => {
        const item = bucket(opts.keychainService).get(key)
        if (!item) return null
        if (item.invalidated === 'null') return null
        if (item.invalidated === 'throw') {
          throw coded('ERR_DECRYPT', `Could not decrypt the value for key '${key}' under keychain '${opts.keychainService ?? 'key_v1'}'. Caused by: Key permanently invalidated`)
        }
        needsAuth(item)
        return item.value
      })
    },
    async setItemAsync(key, value, opts = {}) {
      ensureValidKey(key)
      if (typeof value !== 'string') {
        throw new Error('Invalid value provided to SecureStore. Values must be strings; consider JSON-encoding your values if they are serializable.')
      }
      return native({ op: 'set', key, options: { ...opts } }, () => {
        if (options.maxValueBytes !== undefined && utf8Bytes(value) > options.maxValueBytes) {
          throw coded('ERR_WRITE', `An error occurred when writing to key: '${key}' under keychain: '${opts.keychainService ?? 'key_v1'}'. Caused by: value too large`)
        }
        // Writing over an invalidated key succeeds: the native module deletes the key and retries.
        bucket(opts.keychainService).set(key, {
          value,
          requireAuthentication: opts.requireAuthentication ?? false,
          keychainAccessible: opts.keychainAccessible,
        })
      })
    },
    async deleteItemAsync(key, opts = {}) {
      ensureValidKey(key)
      return native({ op: 'delete', key, options: { ...opts } }, () => {
        bucket(opts.keychainService).delete(key)
      })
    },
  }

  return {
    module,
    /** Every native call so far, in order. */
    calls,
    clearCalls: () => void calls.splice(0),
    /** The k-th native call from now (1-based) crashes; `applied`: its write lands before the crash. */
    crashAt(k: number, { applied = false } = {}) {
      crashAt = { call: calls.length + k, applied }
    },
    get crashed() {
      return crashed
    },
    /** A new process: the crash is over, the stored items remain. */
    restart() {
      crashed = false
      crashAt = null
    },
    invalidate(key: string, { service, mode = 'throw' }: { service?: string; mode?: 'throw' | 'null' } = {}) {
      const item = bucket(service).get(key)
      if (item) item.invalidated = mode
    },
    /** Invalidates every item written with requireAuthentication (biometric enrolment changed). */
    invalidateAuthenticated({ mode = 'throw' }: { mode?: 'throw' | 'null' } = {}) {
      for (const b of services.values()) for (const item of b.values()) if (item.requireAuthentication) item.invalidated = mode
    },
    setDeviceLocked(locked: boolean) {
      deviceLocked = locked
    },
    /** What the OS prompt answers when an item written with requireAuthentication is read. */
    setAuthenticator(fn: (() => 'success' | 'cancel') | null) {
      onAuthenticate = fn
    },
    /** How many OS prompts reads of requireAuthentication items have shown. */
    get osPrompts() {
      return osPrompts
    },
    /** What `canUseBiometricAuthentication()` answers (biometrics enrolled and strong enough). */
    setBiometricsAvailable(available: boolean) {
      biometricsAvailable = available
    },
    /** Keys present under a keychain service. */
    keys(service?: string): string[] {
      return [...bucket(service).keys()].sort()
    },
    /** Raw stored value, for assertions only. */
    peek(key: string, service?: string): string | undefined {
      return bucket(service).get(key)?.value
    },
    item(key: string, service?: string): Readonly<Item> | undefined {
      return bucket(service).get(key)
    },
  }
}

export type FakeSecureStore = ReturnType<typeof createFakeSecureStore>
