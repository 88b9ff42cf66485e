import { NetworkError, SignedOutError, TimeoutError } from '../errors/errors.js'
import type { Clock, Timers } from '../env/ambient.js'
import type { SessionLock } from '../lock/lock.js'
import type { RefreshFn } from '../oauth/oauth2.js'
import { decodeRecord, encodeRecord, remainingLifeMs, type SessionRecord } from '../storage/record.js'
import type { SessionStorage } from '../storage/types.js'
import { isUsable, sessionFromRecord, sessionFromResponse, toRecord, type PersistTokens, type Session } from '../session/session.js'
import { parseTokenResponse } from '../session/token-response.js'

/** Storage no longer holds a session: another context signed out. */
export class StoredSessionGone extends SignedOutError {
  constructor() {
    super('session was signed out in another context')
  }
}

export interface RefresherDeps {
  storage: SessionStorage
  storageKey: string
  persistTokens: PersistTokens
  lock: SessionLock
  refresh: RefreshFn
  clock: Clock
  timers: Timers
  timeoutMs: number
  newId: () => string
  /** The pair in memory now. */
  current: () => Session | null
  /** Whether the session that started this refresh is still the live one (no sign-out since). */
  stillSignedIn: (epoch: number) => boolean
  /** Make `session` the pair in use. */
  commit: (session: Session, source: 'network' | 'storage') => void
  /** A pair obtained after a sign-out: it must not be kept, only revoked. */
  orphaned: (session: Session) => void
  /** Resolves with pair `id` once another context's broadcast delivers it, or null after `ms`. */
  awaitPair: (id: string, ms: number) => Promise<Session | null>
  /** How long to wait for that broadcast (cookie mode), ms. */
  pairWaitMs: number
}

/**
 * The rotation-aware refresh (one run; the caller provides single-flight). Under the lock it
 * re-reads storage: a pair that another context already rotated is adopted instead of spending
 * a refresh token that is already spent. Memory advances only after the new pair is persisted.
 *
 * A pair the server issued but storage refused is held aside, not used: its refresh token is the
 * only one the server still honours (RFC 9700 §4.14.2: with rotation, presenting the previous one
 * after the grace window is reuse and revokes the session). The next run saves it first and uses
 * it, so a failed write never leads to spending the spent token — a sign-out nobody asked for.
 */
export function createRefresher(deps: RefresherDeps) {
  const readStored = async (): Promise<SessionRecord | null> => {
    const raw = await deps.storage.getItem(deps.storageKey)
    return raw === null ? null : decodeRecord(raw)
  }
  const write = (session: Session) => deps.storage.setItem(deps.storageKey, encodeRecord(toRecord(session, deps.persistTokens)))

  /** The newest pair, which storage refused; `replaces` is the id of the pair storage still held. */
  let unsaved: { session: Session; replaces: string } | null = null

  const underLock = async (staleId: string, epoch: number, signal: AbortSignal): Promise<Session> => {
    if (signal.aborted) throw new TimeoutError(deps.timeoutMs)
    const memory = deps.current()
    if (!memory || !deps.stillSignedIn(epoch)) throw new SignedOutError()
    // Someone (a broadcast, an earlier holder of the lock) already replaced the stale pair.
    if (memory.id !== staleId && isUsable(memory, deps.clock)) return memory

    const stored = await readStored()
    if (!stored) {
      // Signed out in another context: a held pair is live at the server and must be revoked.
      if (unsaved) deps.orphaned(unsaved.session)
      unsaved = null
      throw new StoredSessionGone()
    }
    let storedId = stored.id
    let heldRefreshToken: string | null | undefined
    const held = unsaved
    unsaved = null
    if (held && held.replaces === stored.id) {
      try {
        await write(held.session)
      } catch (e) {
        unsaved = held
        throw e
      }
      if (isUsable(held.session, deps.clock)) {
        deps.commit(held.session, 'network')
        return held.session
      }
      storedId = held.session.id
      heldRefreshToken = held.session.refreshToken
    }
    // (A held pair whose predecessor is no longer stored is dropped: another context stored a
    // later pair, which is the one to use.)
    if (heldRefreshToken === undefined && stored.id !== staleId && stored.accessToken && remainingLifeMs(stored, deps.clock.now()) !== 0) {
      const adopted = sessionFromRecord(stored, deps.clock)
      deps.commit(adopted, 'storage')
      return adopted
    }

    // Cookie mode stores no token, only the pair's id: a moved id means another context already
    // rotated, and its access token travels by BroadcastChannel, which may arrive after this lock
    // grant. Wait for it briefly rather than rotating the cookie a second time.
    if (heldRefreshToken === undefined && deps.persistTokens === 'none' && stored.id !== staleId && stored.id !== memory.id && remainingLifeMs(stored, deps.clock.now()) !== 0) {
      const delivered = await deps.awaitPair(stored.id, deps.pairWaitMs)
      if (delivered && isUsable(delivered, deps.clock)) return delivered
    }

    // The stored refresh token is the newest one any context holds.
    const refreshToken = heldRefreshToken !== undefined ? heldRefreshToken : deps.persistTokens === 'all' ? (stored.refreshToken ?? memory.refreshToken) : memory.refreshToken
    const body = await deps.refresh(refreshToken, { signal })
    const arrivedAt = deps.clock.monotonic()
    let next: Session
    try {
      next = sessionFromResponse(parseTokenResponse(body), refreshToken, arrivedAt, deps.clock, deps.newId())
    } catch (cause) {
      throw new NetworkError('malformed_response', 'refresh returned a malformed token response', { cause })
    }
    if (!deps.stillSignedIn(epoch)) {
      deps.orphaned(next)
      throw new SignedOutError()
    }
    // Persist first: if this write fails, memory keeps the pair that storage holds, and the new
    // pair is held aside for the next run.
    try {
      await write(next)
    } catch (e) {
      unsaved = { session: next, replaces: storedId }
      throw e
    }
    deps.commit(next, 'network')
    return next
  }

  return {
    /** Hands over a held, unsaved pair (sign-out revokes its refresh token); none afterwards. */
    takeUnsaved(): Session | null {
      const held = unsaved
      unsaved = null
      return held?.session ?? null
    },
    /**
     * Replace the pair `staleId`. Settles within `timeoutMs` (lock wait included) with the new
     * session or a typed error; the refresh is told to stop through its AbortSignal.
     */
    run(staleId: string, epoch: number): Promise<Session> {
      const controller = new AbortController()
      return new Promise<Session>((resolve, reject) => {
        const timer = deps.timers.setTimeout(() => {
          controller.abort()
          reject(new TimeoutError(deps.timeoutMs))
        }, deps.timeoutMs)
        deps.lock
          .run(() => underLock(staleId, epoch, controller.signal))
          .then(resolve, reject)
          .finally(() => deps.timers.clearTimeout(timer))
      })
    },
  }
}
