// The one owner of the persisted session record: its key names, reading, saving and clearing.
// The client, the refresher, the pair exchange and the Expo bindings all go through here.
import type { Clock } from '../env/ambient.js'
import { decodeRecord, encodeRecord, type SessionRecord } from '../storage/record.js'
import type { SessionStorage } from '../storage/types.js'
import { sessionFromRecord, toRecord, type PersistTokens, type Session } from './session.js'

export const DEFAULT_STORAGE_KEY = 'latchkey.session'

/** Every storage key a client with `storageKey` writes (the session record, pending revocations). */
export function sessionStorageKeys(storageKey: string = DEFAULT_STORAGE_KEY) {
  return { session: storageKey, revocations: `${storageKey}.revocations`, dpop: `${storageKey}.dpop` } as const
}

export function createStoredSession(deps: { storage: SessionStorage; storageKey: string; persistTokens: PersistTokens; clock: Clock }) {
  const keys = sessionStorageKeys(deps.storageKey)
  const read = async (): Promise<SessionRecord | null> => {
    const raw = await deps.storage.getItem(keys.session)
    return raw === null ? null : decodeRecord(raw)
  }
  return {
    keys,
    /** The stored record, or null. Rejects with a storage error, or StorageCorruptError when it does not decode. */
    read,
    /** The session the record describes (expiry estimated from the wall clock: all that survives a restart). */
    toSession: (record: SessionRecord): Session => sessionFromRecord(record, deps.clock),
    save: (session: Session): Promise<void> => deps.storage.setItem(keys.session, encodeRecord(toRecord(session, deps.persistTokens))),
    clear: (): Promise<void> => deps.storage.removeItem(keys.session),
    /** Clears the record only while it still holds pair `id` (another context may have stored a newer one). */
    async clearIfStill(id: string): Promise<void> {
      const record = await read().catch(() => null)
      if (record?.id === id) await deps.storage.removeItem(keys.session)
    },
  }
}

export type StoredSession = ReturnType<typeof createStoredSession>
