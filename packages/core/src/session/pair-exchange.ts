// How a client shares a new pair with other contexts (tabs) and takes theirs: the message it
// publishes, the session it builds from one it receives, and the refreshes waiting for one.
import type { Clock, Timers } from '../env/ambient.js'
import type { SyncMessage } from '../sync/broadcast.js'
import { decodeClaims } from './claims.js'
import type { PersistTokens, Session } from './session.js'
import type { StoredSession } from './stored-session.js'

type PairMessage = Extract<SyncMessage, { type: 'pair' }>

/** The broadcast for `s`. Refresh tokens never travel; the access token only in cookie mode, where memory is its one home. */
export function pairMessage(s: Session, persistTokens: PersistTokens, clock: Clock, origin: 'signIn' | 'refresh'): PairMessage {
  return {
    type: 'pair',
    origin,
    id: s.id,
    tokenType: s.tokenType,
    remainingMs: s.expiresAt === null ? null : s.expiresAt - clock.monotonic(),
    ...(persistTokens === 'none' && s.accessToken !== null ? { accessToken: s.accessToken } : {}),
  }
}

/**
 * The session another context announced: read back from storage in 'all' mode (only if storage
 * holds that very pair), built from the message in cookie mode. Null when it cannot be used.
 */
export async function sessionFromPairMessage(
  message: PairMessage,
  deps: { persistTokens: PersistTokens; stored: StoredSession; clock: Clock },
): Promise<Session | null> {
  let next: Session
  if (deps.persistTokens === 'all') {
    const record = await deps.stored.read()
    if (!record || record.id !== message.id) return null
    next = deps.stored.toSession(record)
  } else {
    if (!message.accessToken) return null
    next = {
      id: message.id, accessToken: message.accessToken, refreshToken: null, tokenType: message.tokenType,
      expiresAt: null, expiresIn: null, receivedAt: deps.clock.now(), scope: undefined, expiryEstimated: false,
      claims: decodeClaims(message.accessToken),
    }
  }
  // The sender measured the remaining life on the same device; trust it over the wall clock.
  next.expiresAt = message.remainingMs === null ? null : deps.clock.monotonic() + message.remainingMs
  next.expiryEstimated = false
  return next
}

/** Refreshes (under the lock) waiting for another context's broadcast of a given pair. */
export function createPairWaiters(timers: Timers) {
  const waiting = new Map<string, Set<(s: Session | null) => void>>()
  /** Waiting for any pair but the one they hold. */
  const others = new Set<{ notId: string; done: (s: Session | null) => void }>()
  return {
    /** Resolves with the next pair delivered whose id is not `notId`, or null after `ms`. */
    waitForOther(notId: string, ms: number): Promise<Session | null> {
      return new Promise((resolve) => {
        const entry = {
          notId,
          done: (s: Session | null) => {
            timers.clearTimeout(timer)
            others.delete(entry)
            resolve(s)
          },
        }
        const timer = timers.setTimeout(() => entry.done(null), ms)
        others.add(entry)
      })
    },
    /** Resolves with pair `id` when it is delivered, or null after `ms`. */
    wait(id: string, ms: number): Promise<Session | null> {
      return new Promise((resolve) => {
        const waiters = waiting.get(id) ?? new Set()
        waiting.set(id, waiters)
        const done = (s: Session | null) => {
          timers.clearTimeout(timer)
          waiters.delete(done)
          if (waiters.size === 0) waiting.delete(id)
          resolve(s)
        }
        const timer = timers.setTimeout(() => done(null), ms)
        waiters.add(done)
      })
    },
    deliver(s: Session): void {
      for (const waiter of [...(waiting.get(s.id) ?? [])]) waiter(s)
      for (const entry of [...others]) if (entry.notId !== s.id) entry.done(s)
    },
  }
}

export type PairWaiters = ReturnType<typeof createPairWaiters>
