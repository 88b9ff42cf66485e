import type { LatchkeyError } from '../errors/errors.js'
import type { SessionState, SignOutReason } from './state.js'

export interface SessionEvents {
  /** A new pair is in use. `source` says where it came from. */
  refreshed: { expiresAt: number | undefined; source: 'network' | 'storage' | 'broadcast' }
  /** A refresh failed; `willRetry` is false when the failure ended the session. */
  refreshFailed: { error: LatchkeyError; willRetry: boolean; retryInMs?: number }
  signedOut: { reason: SignOutReason; error?: LatchkeyError }
  stateChanged: { state: SessionState; previous: SessionState }
}

export type EventName = keyof SessionEvents
type Handler<K extends EventName> = (payload: SessionEvents[K]) => void

export function createEmitter(onHandlerError: (error: unknown, event: EventName) => void) {
  const handlers = new Map<EventName, Set<Handler<EventName>>>()
  return {
    on<K extends EventName>(name: K, handler: Handler<K>): () => void {
      let set = handlers.get(name)
      if (!set) handlers.set(name, (set = new Set()))
      set.add(handler as Handler<EventName>)
      return () => void set.delete(handler as Handler<EventName>)
    },
    emit<K extends EventName>(name: K, payload: SessionEvents[K]) {
      for (const handler of [...(handlers.get(name) ?? [])]) {
        // A throwing handler must not break the engine or the other handlers.
        try {
          handler(payload)
        } catch (error) {
          onHandlerError(error, name)
        }
      }
    },
    clear: () => handlers.clear(),
  }
}
