import { CredentialInvalidatedError, StorageError, hasCode, type StorageOperation } from '../errors/errors.js'
import type { SessionStorage } from './types.js'

/** Wraps adapter failures in typed errors, keeping an invalidated key distinct from a transient failure. */
export function guardStorage(storage: SessionStorage): SessionStorage {
  const wrap = async <T>(operation: StorageOperation, run: () => Promise<T>): Promise<T> => {
    try {
      return await run()
    } catch (cause) {
      if (hasCode(cause, 'LK_CREDENTIAL_INVALIDATED')) throw new CredentialInvalidatedError({ cause })
      throw new StorageError(operation, { cause })
    }
  }
  return {
    getItem: (key) => wrap('getItem', () => storage.getItem(key)),
    setItem: (key, value) => wrap('setItem', () => storage.setItem(key, value)),
    removeItem: (key) => wrap('removeItem', () => storage.removeItem(key)),
  }
}
