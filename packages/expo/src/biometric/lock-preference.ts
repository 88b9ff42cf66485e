import type { AsyncStorageLike, SecureStoreModule } from '../storage/types.js'

/*
 * The user's "lock with Face ID / fingerprint" choice. OWASP MASVS-AUTH-2 / MASVS-STORAGE-1
 * (finding 14): kept in the secure store (this device only, never backed up), not in AsyncStorage,
 * where anything that can write the app's files (a backup restore, a rooted device, a debug build)
 * could set it to off and skip the prompt. An older AsyncStorage preference is only ever carried
 * over when it says 'on': a tampered 'off' there cannot turn the lock off.
 * In the OS-enforced mode the preference cannot skip the prompt anyway: the tokens themselves
 * need the OS prompt to be read.
 */

export interface LockPreferenceOptions {
  /** The expo-secure-store module. */
  secureStore: SecureStoreModule
  /** Secure-store key (default `latchkey.biometric-lock`). */
  key?: string
  keychainService?: string
  /** A preference an earlier version kept in AsyncStorage: 'on' is carried over, nothing else is read from it. */
  legacy?: { asyncStorage: AsyncStorageLike; key: string }
}

export interface LockPreference {
  /** Whether the lock is on. Unreadable (device locked, I/O): true, the lock stays on. */
  get(): Promise<boolean>
  set(on: boolean): Promise<void>
}

export function createLockPreference(options: LockPreferenceOptions): LockPreference {
  const store = options.secureStore
  const key = options.key ?? 'latchkey.biometric-lock'
  const callOptions = {
    keychainAccessible: store.WHEN_UNLOCKED_THIS_DEVICE_ONLY,
    ...(options.keychainService !== undefined ? { keychainService: options.keychainService } : {}),
  }
  const set = (on: boolean) => store.setItemAsync(key, on ? 'on' : 'off', callOptions)
  return {
    async get() {
      let stored: string | null
      try {
        stored = await store.getItemAsync(key, callOptions)
      } catch {
        return true
      }
      if (stored === 'off') return false
      if (stored !== null) return true // 'on', or anything unexpected: fail closed
      const legacy = options.legacy
      if (!legacy) return false
      let old: string | null
      try {
        old = await legacy.asyncStorage.getItem(legacy.key)
      } catch {
        old = null
      }
      if (old !== 'on') return false
      try {
        await set(true)
        await legacy.asyncStorage.removeItem(legacy.key)
      } catch {
        // carried over next time; the lock is on either way
      }
      return true
    },
    set,
  }
}
