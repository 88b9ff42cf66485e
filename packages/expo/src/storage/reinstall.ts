import { sessionStorageKeys, type SessionStorage } from '@latchkey/core'
import type { AsyncStorageLike } from './types.js'

export interface ReinstallOptions {
  /** AsyncStorage: app data that, unlike the iOS Keychain, is deleted when the app is uninstalled. */
  asyncStorage: AsyncStorageLike
  /** Keys to clear on the first launch of an install (default: the core's session and revocation records). */
  keys?: string[]
  /** Default `latchkey.installed`. */
  markerKey?: string
}

export type ReinstallCheck = { firstLaunch: boolean } | { firstLaunch: 'unknown'; error: unknown }

export const defaultSessionKeys: string[] = Object.values(sessionStorageKeys())

/**
 * iOS keeps Keychain items after the app is deleted, so a reinstall would resume the previous
 * install's session. AsyncStorage does not survive: no marker there means a fresh install, so the
 * secure items are cleared and then the marker is set (a failure leaves it unset: retried next
 * launch). If AsyncStorage cannot be read we cannot tell, and nothing is deleted.
 */
export async function clearSecureItemsOnReinstall(storage: SessionStorage, options: ReinstallOptions): Promise<ReinstallCheck> {
  const markerKey = options.markerKey ?? 'latchkey.installed'
  try {
    if ((await options.asyncStorage.getItem(markerKey)) !== null) return { firstLaunch: false }
  } catch (error) {
    return { firstLaunch: 'unknown', error }
  }
  try {
    for (const key of options.keys ?? defaultSessionKeys) await storage.removeItem(key)
    await options.asyncStorage.setItem(markerKey, '1')
  } catch (error) {
    return { firstLaunch: 'unknown', error }
  }
  return { firstLaunch: true }
}

/**
 * The storage with the reinstall check run once, before its first operation, so a stale
 * Keychain session is never read into memory.
 */
export function withReinstallCheck(storage: SessionStorage, options: ReinstallOptions): SessionStorage {
  let check: Promise<ReinstallCheck> | null = null
  const ready = () => (check ??= clearSecureItemsOnReinstall(storage, options))
  return {
    getItem: async (key) => (await ready(), storage.getItem(key)),
    setItem: async (key, value) => (await ready(), storage.setItem(key, value)),
    removeItem: async (key) => (await ready(), storage.removeItem(key)),
  }
}
