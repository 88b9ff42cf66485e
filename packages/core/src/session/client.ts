import {
  CredentialInvalidatedError, LockedError, NetworkError, SignedOutError, StorageCorruptError,
  isLatchkeyError, isNetworkError, type LatchkeyError,
} from '../errors/errors.js'
import { backoffDelay } from '../refresh/backoff.js'
import { StoredSessionGone, createRefresher } from '../refresh/refresher.js'
import { createSingleFlight } from '../refresh/single-flight.js'
import { guardStorage } from '../storage/guarded.js'
import { decodeRecord, encodeRecord } from '../storage/record.js'
import { createRevocationQueue } from '../storage/revocation-queue.js'
import type { SyncMessage } from '../sync/broadcast.js'
import { createAuthFetch, type Credential, type TokenSource } from '../transport/fetch.js'
import { createCleanups, type Cleanup } from './cleanups.js'
import { createEmitter, type EventName, type SessionEvents } from './events.js'
import { createPairWaiters, pairMessage, sessionFromPairMessage } from './pair-exchange.js'
import { resolveOptions, type SessionClientOptions } from './options.js'
import { createRevoker } from './revoker.js'
import { createScheduler } from './scheduler.js'
import { isUsable, sessionFromRecord, sessionFromResponse, toRecord, type Session } from './session.js'
import { createStore, initialState, type SessionState, type SessionStatus, type SignOutReason } from './state.js'
import { parseTokenResponse, type TokenResponse } from './token-response.js'

export interface SessionClient {
  /** Subscribes to the environment and restores from storage (or enters `locked`). Idempotent. */
  start(): Promise<void>
  /** Clears timers and listeners. */
  stop(): void
  /** Adopts an RFC 6749 §5.1 token response; resolves once it is persisted. */
  signIn(response: TokenResponse): Promise<void>
  /** Local first (memory, storage, cleanups, `signedOut`), then server revocation. Never throws for network reasons. */
  signOut(options?: { reason?: SignOutReason }): Promise<void>
  /** A valid access token (refreshing if needed), or null when signed out. */
  getAccessToken(): Promise<string | null>
  /** fetch with the access token; a 401 refreshes (once, shared) and replays once. */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>
  getState(): SessionState
  subscribe(listener: () => void): () => void
  on<K extends EventName>(name: K, handler: (payload: SessionEvents[K]) => void): () => void
  onSignOut(cleanup: Cleanup): () => void
  /** Drops tokens from memory and enters `locked`; storage is not touched. */
  lock(): void
  /** Leaves `locked` by restoring from storage. */
  unlock(): Promise<void>
  /** Sends revocations that are waiting for the network. Never rejects. */
  flushRevocations(): Promise<void>
  /** For transport adapters (see attachAxios). */
  readonly tokenSource: TokenSource
}

export function createSessionClient(options: SessionClientOptions): SessionClient {
  const o = resolveOptions(options)
  const storage = guardStorage(o.storage)
  const store = createStore<SessionState>(initialState)
  const emitter = createEmitter((error, event) => o.logger.error(`${event} handler threw`, { error }))
  const cleanups = createCleanups((error) => o.logger.error('sign-out cleanup threw', { error }))
  const revoker = createRevoker({
    queue: createRevocationQueue(storage, `${o.storageKey}.revocations`),
    revoke: o.revoke, clock: o.clock, timers: o.timers, timeoutMs: o.revokeTimeoutMs, logger: o.logger,
  })

  let session: Session | null = null
  let locked = false
  let signOutEpoch = 0
  let failures = 0
  let dueWhileOffline = false
  let pendingRestore = false
  let started: Promise<void> | null = null
  let idCounter = 0
  const unsubscribes: Array<() => void> = []

  const newId = () =>
    `${o.clock.now().toString(36)}-${Math.floor(o.random() * 2 ** 32).toString(36)}-${(++idCounter).toString(36)}`

  store.subscribe((state, previous) => emitter.emit('stateChanged', { state, previous }))

  const setStatus = (status: SessionStatus, extra: Partial<SessionState> = {}) => {
    const next: SessionState = { status, ready: true, claims: session?.claims ?? null, ...extra }
    if (session?.expiresAt != null && status !== 'locked' && status !== 'signedOut') next.expiresAt = session.expiresAt
    store.set(next)
  }

  const scheduler = createScheduler({
    clock: o.clock,
    timers: o.timers,
    isForeground: () => o.foreground.isForeground(),
    onDue: () => {
      if (!session || locked) return
      if (!o.online.isOnline()) {
        dueWhileOffline = true
        return
      }
      void refresh(session.id).catch(() => undefined)
    },
  })

  const planProactive = () => {
    if (!session) return scheduler.cancel()
    // No access token (cookie mode after a restart): refresh now. Else at expires_in − margin.
    if (session.accessToken === null) return scheduler.plan(o.clock.monotonic())
    if (session.expiresAt === null) return scheduler.cancel()
    const lifetime = session.expiresAt - o.clock.monotonic()
    // Already expired: the next need refreshes. A token shorter-lived than the margin refreshes at
    // half its life, so a server that issues short tokens cannot drive a refresh loop.
    if (lifetime <= 0) return scheduler.cancel()
    scheduler.plan(session.expiresAt - Math.min(o.refreshMargin, lifetime / 2))
  }

  const publishPair = (s: Session) => o.sync?.publish(pairMessage(s, o.persistTokens, o.clock))

  const pairWaiters = createPairWaiters(o.timers)
  const awaitPair = (id: string, ms: number) => (session?.id === id ? Promise.resolve(session) : pairWaiters.wait(id, ms))

  const commit = (next: Session, source: 'network' | 'storage' | 'broadcast' | 'signIn') => {
    if (locked) return // persisted already; memory stays empty until unlock
    session = next
    pairWaiters.deliver(next)
    failures = 0
    dueWhileOffline = false
    setStatus('signedIn')
    planProactive()
    if (source !== 'signIn') emitter.emit('refreshed', { expiresAt: next.expiresAt ?? undefined, source })
    if (source === 'network' || source === 'signIn') publishPair(next)
  }

  /**
   * Local first (OWASP Session Management Cheat Sheet: logout must end the session everywhere it
   * lives): memory, storage, cleanups, `signedOut`; then RFC 7009 revocation, queued if offline.
   */
  const endSession = async (
    reason: SignOutReason,
    error?: LatchkeyError,
    { revoke = true, clearStorage = true, broadcast = true } = {},
  ) => {
    const ending = session
    signOutEpoch++
    session = null
    locked = false
    failures = 0
    dueWhileOffline = false
    pendingRestore = false
    scheduler.cancel()
    setStatus('signedOut', { reason, ...(error ? { error } : {}) })
    if (clearStorage) {
      await storage.removeItem(o.storageKey).catch((e: unknown) => o.logger.error('could not clear stored session', { code: (e as LatchkeyError).code }))
    }
    const revocable = ending !== null && (ending.refreshToken !== null || o.persistTokens === 'none')
    if (revoke && revocable && revoker.enabled) {
      await revoker.enqueue(ending.refreshToken).catch((e: unknown) => o.logger.error('could not queue revocation', { code: (e as LatchkeyError).code }))
    }
    // A newer pair that storage refused is live at the server too.
    const held = refresher.takeUnsaved()
    if (revoke && held?.refreshToken && revoker.enabled) {
      await revoker.enqueue(held.refreshToken).catch((e: unknown) => o.logger.error('could not queue revocation', { code: (e as LatchkeyError).code }))
    }
    await cleanups.runAll()
    emitter.emit('signedOut', { reason, ...(error ? { error } : {}) })
    if (broadcast) o.sync?.publish({ type: 'signedOut', reason })
    if (revoke && (revocable || held?.refreshToken) && o.online.isOnline()) void revoker.flush()
  }

  const refresher = createRefresher({
    storage, storageKey: o.storageKey, persistTokens: o.persistTokens, lock: o.lock, refresh: o.refresh,
    clock: o.clock, timers: o.timers, timeoutMs: o.refreshTimeoutMs, newId,
    current: () => session,
    awaitPair,
    pairWaitMs: 2_000,
    stillSignedIn: (epoch) => epoch === signOutEpoch,
    commit,
    orphaned: (s) => {
      if (s.refreshToken !== null) void revoker.enqueue(s.refreshToken).then(() => revoker.flush(), () => undefined)
    },
  })

  const flight = createSingleFlight<Session>()
  /** The one refresh (single-flight), and what its outcome means for the session. */
  const refresh = (staleId: string): Promise<Session> =>
    flight.run(async () => {
      const epoch = signOutEpoch
      if (session && !locked) setStatus('refreshing')
      try {
        const next = await refresher.run(staleId, epoch)
        if (session && !locked) setStatus('signedIn')
        return next
      } catch (raw) {
        if (epoch !== signOutEpoch) throw raw instanceof SignedOutError ? raw : new SignedOutError()
        if (raw instanceof StoredSessionGone) {
          await endSession('signed_out_elsewhere', undefined, { revoke: false, clearStorage: false, broadcast: false })
          throw raw
        }
        // A custom refresh function may throw anything; unknown failures are network-class.
        const error = isLatchkeyError(raw) ? raw : new NetworkError('unreachable', 'refresh failed', { cause: raw })
        const ending: SignOutReason | null = o.isRefreshRejected(raw)
          ? 'refresh_rejected'
          : raw instanceof CredentialInvalidatedError ? 'credential_invalidated'
          : raw instanceof StorageCorruptError ? 'storage_corrupt'
          : null
        if (ending) {
          emitter.emit('refreshFailed', { error, willRetry: false })
          await endSession(ending, error, { revoke: false })
          throw error
        }
        failures++
        const retryInMs = backoffDelay(failures, o.random, o.backoff)
        if (session && !locked) {
          scheduler.plan(o.clock.monotonic() + retryInMs)
          setStatus(isNetworkError(error) ? 'offline' : 'signedIn', { error })
        }
        emitter.emit('refreshFailed', { error, willRetry: true, retryInMs })
        throw error
      }
    })

  /** Reads the stored record into memory. A transient read failure keeps what we had and says so. */
  const restore = async (fallback: 'signedOut' | 'locked') => {
    let raw: string | null
    try {
      raw = await storage.getItem(o.storageKey)
    } catch (error) {
      if (error instanceof CredentialInvalidatedError) return endSession('credential_invalidated', error, { revoke: false })
      pendingRestore = true
      o.logger.warn('could not read the stored session; will retry', { code: (error as LatchkeyError).code })
      locked = fallback === 'locked'
      // Not a sign-out: the session's fate is unknown until a read succeeds, so `ready` stays
      // false (a route guard keeps its splash up instead of redirecting to sign-in).
      return setStatus(fallback, { error: error as LatchkeyError, ...(fallback === 'signedOut' ? { ready: false } : {}) })
    }
    pendingRestore = false
    locked = false
    if (raw === null) return setStatus('signedOut')
    let next: Session
    try {
      next = sessionFromRecord(decodeRecord(raw), o.clock)
    } catch (error) {
      return endSession('storage_corrupt', error as StorageCorruptError, { revoke: false })
    }
    session = next
    setStatus('signedIn')
    planProactive()
  }

  const onResume = () => {
    if (pendingRestore && !locked) void restore('signedOut')
    if (!session || locked) return
    const state = store.get()
    // A refresh that failed (offline with an error) or fell due while offline runs now; a device
    // that was merely offline with a still-valid token just goes back to signedIn.
    if ((state.status === 'offline' && state.error) || dueWhileOffline) {
      dueWhileOffline = false
      void refresh(session.id).catch(() => undefined)
    } else if (state.status === 'offline' && o.online.isOnline()) {
      setStatus('signedIn')
    }
  }

  const onSync = async (message: SyncMessage) => {
    if (message.type === 'signedOut') {
      if (session || locked) await endSession('signed_out_elsewhere', undefined, { revoke: false, clearStorage: false, broadcast: false })
      return
    }
    if (locked || session?.id === message.id) return
    const next = await sessionFromPairMessage(message, { persistTokens: o.persistTokens, storage, storageKey: o.storageKey, clock: o.clock })
    if (!next || locked || session?.id === next.id) return
    commit(next, 'broadcast')
  }

  const start = (): Promise<void> => {
    if (started) return started
    unsubscribes.push(
      o.foreground.subscribe(() => {
        scheduler.foregroundChanged()
        if (o.foreground.isForeground()) onResume()
      }),
      o.online.subscribe((online) => {
        if (!online) {
          // Report it at once (DESIGN: offline is a state, never a sign-out); refreshes wait.
          if (session && !locked && store.get().status === 'signedIn') setStatus('offline')
          return
        }
        onResume()
        void revoker.flush()
      }),
    )
    if (o.sync) {
      unsubscribes.push(o.sync.subscribe((m) => void onSync(m).catch((e: unknown) => o.logger.warn('could not apply a sync message', { code: (e as LatchkeyError).code }))))
    }
    started = (async () => {
      if (o.startLocked) {
        locked = true
        return setStatus('locked')
      }
      await restore('signedOut')
      if (o.online.isOnline()) void revoker.flush()
    })()
    return started
  }

  const ensureStarted = () => started ?? start()
  const credentialOf = (s: Session): Credential => ({ accessToken: s.accessToken!, tokenType: s.tokenType })

  const credential = async (): Promise<Credential | null> => {
    await ensureStarted()
    if (pendingRestore && !locked) await restore('signedOut')
    if (locked) throw new LockedError()
    const s = session
    if (!s) return null
    if (isUsable(s, o.clock)) return credentialOf(s)
    try {
      const next = await refresh(s.id)
      if (locked) throw new LockedError()
      return credentialOf(next)
    } catch (error) {
      // Expiry guessed from the wall clock after a restart, and no network: use the token anyway
      // and let the resource server's 401 decide.
      if (isNetworkError(error) && s.expiryEstimated && s.accessToken !== null && session === s) return credentialOf(s)
      throw error
    }
  }

  const tokenSource: TokenSource = {
    async get() {
      const c = await credential()
      if (!c) throw new SignedOutError()
      return c
    },
    peek: () => (session && !locked && session.accessToken !== null ? credentialOf(session) : null),
    async renew(stale) {
      await ensureStarted()
      if (locked) throw new LockedError()
      const s = session
      if (!s) throw new SignedOutError()
      if (s.accessToken !== null && s.accessToken !== stale.accessToken) return credentialOf(s)
      const next = await refresh(s.id)
      if (locked) throw new LockedError()
      return credentialOf(next)
    },
  }

  return {
    start,
    stop() {
      for (const unsubscribe of unsubscribes.splice(0)) unsubscribe()
      scheduler.cancel()
      started = null
    },
    async signIn(response) {
      await ensureStarted()
      const parsed = parseTokenResponse(response)
      const next = sessionFromResponse(parsed, null, o.clock.monotonic(), o.clock, newId())
      // Persist first: if storage refuses, nothing changes in memory.
      await storage.setItem(o.storageKey, encodeRecord(toRecord(next, o.persistTokens)))
      signOutEpoch++
      locked = false
      pendingRestore = false
      commit(next, 'signIn')
    },
    async signOut({ reason = 'user' } = {}) {
      await ensureStarted()
      if (!session && !locked && store.get().status === 'signedOut' && !pendingRestore) {
        await storage.removeItem(o.storageKey).catch(() => undefined)
        return
      }
      await endSession(reason)
    },
    getAccessToken: async () => (await credential())?.accessToken ?? null,
    fetch: createAuthFetch(tokenSource, o.fetch),
    getState: store.get,
    subscribe: (listener) => store.subscribe(() => listener()),
    on: emitter.on,
    onSignOut: cleanups.add,
    lock() {
      locked = true
      session = null
      scheduler.cancel()
      setStatus('locked')
    },
    async unlock() {
      await ensureStarted()
      if (!locked) return
      await restore('locked')
      if (!locked && o.online.isOnline()) void revoker.flush()
    },
    flushRevocations: () => revoker.flush(),
    tokenSource,
  }
}
