import type { SessionStorage } from '@latchkey/core'
import type { AsyncStorageLike } from '../storage/types.js'

export interface MigrationOptions {
  /** Bump to run a new migration; each version runs to completion once. */
  version: number
  /** Legacy AsyncStorage keys, as a list (same key in the secure store) or a map legacy → secure key. */
  keys: string[] | Record<string, string>
  asyncStorage: AsyncStorageLike
  /** Where the values go: usually `secureStoreStorage()`. */
  storage: SessionStorage
  /** Turn a legacy value into what the secure key should hold (e.g. a Latchkey session record). */
  transform?: (value: string, legacyKey: string) => string
  /** AsyncStorage key of the run-once flag (default `latchkey.migrated`). */
  flagKey?: string
}

export type MigrationStep = 'flag' | 'read' | 'transform' | 'write' | 'verify' | 'delete'

export type MigrationResult =
  | { status: 'already_done'; version: number }
  | { status: 'nothing_to_migrate'; version: number }
  | { status: 'migrated'; version: number; keys: string[] }
  /** Nothing was lost: every value is in the secure store, in AsyncStorage, or both. Retried next launch. */
  | { status: 'failed'; version: number; step: MigrationStep; key?: string; error: unknown }

class StepFailed extends Error {
  constructor(readonly step: MigrationStep, readonly key: string | undefined, readonly error: unknown) {
    super(`migration failed at ${step}`)
  }
}

const step = async <T>(name: MigrationStep, key: string | undefined, run: () => Promise<T> | T): Promise<T> => {
  try {
    return await run()
  } catch (error) {
    throw new StepFailed(name, key, error)
  }
}

/**
 * Moves tokens out of plaintext AsyncStorage into the secure store, once per `version`.
 * Order: copy each value, read it back and compare, and only when every copy is verified delete
 * the plaintext, then set the flag. A crash or failure anywhere leaves the flag unset, so the next
 * launch runs it again; a value already in the secure store is kept (it is our earlier verified
 * copy, or newer: the session may have rotated since), so a rerun never rolls a token back.
 * Never throws: the app gets a result and starts either way.
 */
export async function runAsyncStorageMigration(options: MigrationOptions): Promise<MigrationResult> {
  const { version, asyncStorage, storage } = options
  const flagKey = options.flagKey ?? 'latchkey.migrated'
  const pairs: Array<[string, string]> = Array.isArray(options.keys)
    ? options.keys.map((k) => [k, k])
    : Object.entries(options.keys)
  try {
    const flag = await step('flag', undefined, () => asyncStorage.getItem(flagKey))
    if (flag !== null && Number(flag) >= version) return { status: 'already_done', version }

    const found: Array<[string, string, string]> = []
    for (const [legacyKey, secureKey] of pairs) {
      const value = await step('read', legacyKey, () => asyncStorage.getItem(legacyKey))
      if (value !== null) found.push([legacyKey, secureKey, value])
    }
    if (found.length === 0) {
      await step('flag', undefined, () => asyncStorage.setItem(flagKey, String(version)))
      return { status: 'nothing_to_migrate', version }
    }

    for (const [legacyKey, secureKey, value] of found) {
      const existing = await step('read', secureKey, () => storage.getItem(secureKey))
      if (existing !== null) continue
      const target = await step('transform', legacyKey, () => (options.transform ? options.transform(value, legacyKey) : value))
      await step('write', secureKey, () => storage.setItem(secureKey, target))
      const back = await step('verify', secureKey, () => storage.getItem(secureKey))
      if (back !== target) throw new StepFailed('verify', secureKey, new Error('read-back differs from what was written'))
    }

    for (const [legacyKey] of found) await step('delete', legacyKey, () => asyncStorage.removeItem(legacyKey))
    await step('flag', undefined, () => asyncStorage.setItem(flagKey, String(version)))
    return { status: 'migrated', version, keys: found.map(([k]) => k) }
  } catch (error) {
    if (error instanceof StepFailed) {
      return { status: 'failed', version, step: error.step, ...(error.key ? { key: error.key } : {}), error: error.error }
    }
    return { status: 'failed', version, step: 'read', error }
  }
}
