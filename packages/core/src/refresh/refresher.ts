import { NetworkError, SignedOutError, TimeoutError } from '../errors/errors.js'
import type { Clock, Timers } from '../env/ambient.js'
import { unlessAborted, withDeadline } from '../env/deadline.js'
import type { SessionLock } from '../lock/lock.js'
import type { RefreshFn } from '../oauth/oauth2.js'
import type { PairWaiters } from '../session/pair-exchange.js'
import { isUsable, sessionFromResponse, type PersistTokens, type Session } from '../session/session.js'
import type { StoredSession } from '../session/stored-session.js'
import { parseTokenResponse } from '../session/token-response.js'
import { remainingLifeMs } from '../storage/record.js'

/** Storage no longer holds a session: another context signed out. */
export class StoredSessionGone extends SignedOutError {
  constructor() {
    super('session was signed out in another context')
  }
}

/** What a refresh run did; the client commits it. */
export type RefreshOutcome =
  /** A new pair, persisted: from the network, or adopted from storage that another context rotated. */
  | { kind: 'refreshed'; session: Session; source: 'network' | 'storage' }
  /** The pair in memory was already replaced (by a broadcast or an earlier run): nothing to commit. */
  | { kind: 'current'; session: Session }

export interface RefreshRun {
  /** The pair the caller found stale. */
  staleId: string
  /** The pair in memory, read when the lock is granted (a broadcast may have replaced it meanwhile). */
  memory: () => Session | null
  /** Aborted when the session this run serves ends (sign-out, another sign-in). */
  ended: AbortSignal
}

export interface RefresherDeps {
  stored: StoredSession
  persistTokens: PersistTokens
  lock: SessionLock
  refresh: RefreshFn
  clock: Clock
  timers: Timers
  /** One run, lock wait and every network step included, settles within this. */
  timeoutMs: number
  newId: () => string
  /** Cookie mode: pairs another context announced. */
  pairs: PairWaiters
  /** How long to wait for that announcement, ms. */
  pairWaitMs: number
  /**
   * A pair the server issued after its session ended (sign-out, another sign-in) is live and
   * must be revoked, not kept. Handed over where it arises, so it is revoked even when the run's
   * deadline has passed and nobody awaits the run any more.
   */
  revokeOrphan: (session: Session) => void
  /**
   * Tells other contexts about a new pair. Called under the lock, before it is released: a
   * context that takes the lock next and finds the stored pair moved (cookie mode) waits for
   * this announcement, which must already be on its way.
   */
  announce: (session: Session) => void
}

/**
 * The rotation-aware refresh (one run; the caller provides single-flight). Under the lock it
 * re-reads storage: a pair that another context already rotated is adopted instead of spending
 * a refresh token that is already spent. A new pair is persisted before it is returned.
 *
 * A pair the server issued but storage refused is held aside, not used: its refresh token is the
 * only one the server still honours (RFC 9700 §4.14.2: with rotation, presenting the previous one
 * after the grace window is reuse and revokes the session). The next run saves it first and uses
 * it, so a failed write never leads to spending the spent token — a sign-out nobody asked for.
 */
export function createRefresher(deps: RefresherDeps) {
  /** The newest pair, which storage refused; `replaces` is the id of the pair storage still held. */
  let unsaved: { session: Session; replaces: string } | null = null

  const underLock = async (run: RefreshRun, deadline: AbortSignal, waited: boolean): Promise<RefreshOutcome> => {
    if (deadline.aborted) throw new TimeoutError(deps.timeoutMs)
    const memory = run.memory()
    if (!memory || run.ended.aborted) throw new SignedOutError()
    if (memory.id !== run.staleId && isUsable(memory, deps.clock)) return { kind: 'current', session: memory }

    const stored = await deps.stored.read()
    if (!stored) {
      // Signed out in another context: a held pair is live at the server and must be revoked.
      if (unsaved) deps.revokeOrphan(unsaved.session)
      unsaved = null
      throw new StoredSessionGone()
    }
    let storedId = stored.id
    let heldRefreshToken: string | null | undefined
    const held = unsaved
    unsaved = null
    if (held && held.replaces === stored.id) {
      try {
        await deps.stored.save(held.session)
      } catch (e) {
        unsaved = held
        throw e
      }
      if (isUsable(held.session, deps.clock)) {
        deps.announce(held.session)
        return { kind: 'refreshed', session: held.session, source: 'network' }
      }
      storedId = held.session.id
      heldRefreshToken = held.session.refreshToken
    }
    // (A held pair whose predecessor is no longer stored is dropped: another context stored a
    // later pair, which is the one to use.)
    const rotatedElsewhere = heldRefreshToken === undefined && stored.id !== run.staleId && remainingLifeMs(stored, deps.clock.now()) !== 0
    if (rotatedElsewhere && stored.accessToken) return { kind: 'refreshed', session: deps.stored.toSession(stored), source: 'storage' }

    // Cookie mode stores no token, only the pair's id: a moved id means another context already
    // rotated, and its access token travels by BroadcastChannel, which may arrive after this lock
    // grant. Wait for it briefly rather than rotating the cookie a second time.
    if (rotatedElsewhere && deps.persistTokens === 'none' && stored.id !== memory.id) {
      const now = run.memory()
      const delivered = now?.id === stored.id ? now : await deps.pairs.wait(stored.id, deps.pairWaitMs)
      if (delivered && isUsable(delivered, deps.clock)) return { kind: 'current', session: delivered }
    }

    // Cookie mode, and the lock was just held by another context that may have rotated: on the
    // web its write to localStorage reaches this tab's renderer asynchronously, so an unmoved
    // record does not prove that nothing moved. Its announcement (sent under the lock) is the
    // proof: wait for it briefly before spending the cookie a second time.
    if (heldRefreshToken === undefined && deps.persistTokens === 'none' && waited && stored.id === run.staleId) {
      const now = run.memory()
      const delivered = now && now.id !== run.staleId ? now : await deps.pairs.waitForOther(run.staleId, deps.pairWaitMs)
      if (delivered && delivered.id !== run.staleId && isUsable(delivered, deps.clock)) return { kind: 'current', session: delivered }
    }

    // The stored refresh token is the newest one any context holds.
    const refreshToken = heldRefreshToken !== undefined ? heldRefreshToken : deps.persistTokens === 'all' ? (stored.refreshToken ?? memory.refreshToken) : memory.refreshToken
    // Settles at the deadline even if a custom refresh function ignores its signal, so the lock
    // is never held past it.
    const body = await unlessAborted(deps.refresh(refreshToken, { signal: deadline }), deadline)
    const arrivedAt = deps.clock.monotonic()
    let next: Session
    try {
      next = sessionFromResponse(parseTokenResponse(body), refreshToken, arrivedAt, deps.clock, deps.newId(), memory.idToken)
    } catch (cause) {
      throw new NetworkError('malformed_response', 'refresh returned a malformed token response', { cause })
    }
    if (run.ended.aborted) {
      deps.revokeOrphan(next)
      throw new SignedOutError()
    }
    // Persist first: if this write fails, memory keeps the pair that storage holds, and the new
    // pair is held aside for the next run.
    try {
      await deps.stored.save(next)
    } catch (e) {
      unsaved = { session: next, replaces: storedId }
      throw e
    }
    if (run.ended.aborted) {
      // Signed out while the write ran: do not leave the new pair behind in storage.
      deps.revokeOrphan(next)
      await deps.stored.clearIfStill(next.id).catch(() => undefined)
      throw new SignedOutError()
    }
    deps.announce(next)
    return { kind: 'refreshed', session: next, source: 'network' }
  }

  return {
    /** Hands over a held, unsaved pair (sign-out revokes its refresh token); none afterwards. */
    takeUnsaved(): Session | null {
      const held = unsaved
      unsaved = null
      return held?.session ?? null
    },
    /**
     * Replace the pair `run.staleId`. Settles within `timeoutMs` (lock wait included) with what
     * happened or a typed error; the refresh is told to stop through its AbortSignal.
     */
    run(run: RefreshRun): Promise<RefreshOutcome> {
      return withDeadline((deadline) => deps.lock.run((grant) => underLock(run, deadline, grant?.waited === true)), { ms: deps.timeoutMs, timers: deps.timers })
    },
  }
}

export type Refresher = ReturnType<typeof createRefresher>
