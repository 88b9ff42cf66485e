import {
  ClientConfigError, CredentialInvalidatedError, LockedError, NetworkError, SignedOutError, StorageCorruptError,
  isLatchkeyError, isNetworkError, type LatchkeyError,
} from '../errors/errors.js'
import { StoredSessionGone, createRefresher, type RefreshOutcome } from '../refresh/refresher.js'
import { createRetryer } from '../refresh/retryer.js'
import { createSingleFlight } from '../refresh/single-flight.js'
import { guardStorage } from '../storage/guarded.js'
import { createRevocationQueue } from '../storage/revocation-queue.js'
import type { SyncMessage } from '../sync/broadcast.js'
import { createAuthFetch, type TokenSource } from '../transport/fetch.js'
import { createSessionKeys, isDpopBound } from '../dpop/session-keys.js'
import { isResourceProofRefusal, type DpopSigner } from '../dpop/proof.js'
import type { RefreshFn, RevokeFn } from '../oauth/oauth2.js'
import { createCleanups, type Cleanup } from './cleanups.js'
import { createEmitter, type EventName, type SessionEvents } from './events.js'
import { createPairWaiters, pairMessage, sessionFromPairMessage } from './pair-exchange.js'
import { sessionController, signedIn, type Phase } from './phase.js'
import { resolveOptions, type SessionClientOptions } from './options.js'
import { createRevoker } from './revoker.js'
import { sessionFromResponse, type Session } from './session.js'
import { createSignOutSteps, type SignOutOptions } from './sign-out.js'
import { createStore, initialState, type SessionState, type SessionStatus, type SignOutReason } from './state.js'
import { createStoredSession } from './stored-session.js'
import { parseTokenResponse, type TokenResponse } from './token-response.js'
import { createTokenSource } from './token-source.js'

export interface SessionClient {
  /** Subscribes to the environment and restores from storage (or enters `locked`). Idempotent. */
  start(): Promise<void>
  /** Clears timers and listeners. */
  stop(): void
  /** Adopts an RFC 6749 §5.1 token response; resolves once it is persisted. */
  signIn(response: TokenResponse): Promise<void>
  /**
   * Local first (memory, storage, cleanups, `signedOut`), then server revocation. Never throws for
   * network reasons. `revoke: false`: local only, for a session the server has already ended
   * (the account was deleted, or a password change ended this session).
   */
  signOut(options?: { reason?: SignOutReason; revoke?: boolean }): Promise<void>
  /** A valid access token (refreshing if it expires within the margin), or null when signed out. */
  getAccessToken(): Promise<string | null>
  /**
   * fetch with the access token; a 401 refreshes (once, shared) and replays once. Only for the
   * token's origins (`tokenOrigins`): other requests go out untouched, without the token.
   */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>
  /**
   * fetch for the app's own sign-in or sign-up request. With a `dpop` option it generates the new
   * session's key and adds a proof of it (RFC 9449 §5; once more with the server's nonce if it asks,
   * §8); `signIn(response)` then keeps the key if the answer is bound. Without one, plain fetch.
   */
  signInFetch(input: Request | string | URL, init?: RequestInit): Promise<Response>
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

const ignore = () => undefined

/**
 * RFC 9449 §8: an authorization server asks for a nonce with 400 `use_dpop_nonce` (a resource
 * server with 401 and `WWW-Authenticate`, §9), or refuses the proof (`invalid_dpop_proof`, an
 * `iat` from a device clock far off). Worth one more proof only if the answer changed what the
 * next proof carries (`changed`: a new nonce, a corrected clock).
 */
async function worthRetry(response: Response, changed: boolean): Promise<boolean> {
  if (!changed) return false
  if (isResourceProofRefusal(response.status, response.headers)) return true
  if (response.status !== 400) return false
  const body = (await response.clone().json().catch(() => null)) as { error?: unknown } | null
  return body?.error === 'use_dpop_nonce' || body?.error === 'invalid_dpop_proof'
}

export function createSessionClient(options: SessionClientOptions): SessionClient {
  const o = resolveOptions(options)
  const storage = guardStorage(o.storage)
  const stored = createStoredSession({ storage, storageKey: o.storageKey, persistTokens: o.persistTokens, clock: o.clock })
  const store = createStore<SessionState>(initialState)
  const sessionKeys = o.dpop ? createSessionKeys(o.dpop, { clock: o.clock, logger: o.logger }) : null
  /** The signers of sessions that ended, for the revocation of their refresh tokens (RFC 9449 §5). */
  const revokeSigners = new Map<string | null, DpopSigner>()
  const revokeWithProof: RevokeFn | undefined = o.revoke && (async (token, ctx) => {
    const signer = revokeSigners.get(token)
    await o.revoke!(token, signer ? { ...ctx, dpop: signer } : ctx)
    revokeSigners.delete(token)
  })
  // Every token request of a bound session proves its key (RFC 9449 §5).
  const refreshWithProof: RefreshFn = async (refreshToken, ctx) => {
    const s = live()
    if (!sessionKeys || !s || !isDpopBound(s.tokenType)) return o.refresh(refreshToken, ctx)
    return o.refresh(refreshToken, { ...ctx, dpop: await sessionKeys.signer() })
  }
  const emitter = createEmitter((error, event) => o.logger.error(`${event} handler threw`, { error }))
  const cleanups = createCleanups((error) => o.logger.error('sign-out cleanup threw', { error }))
  const revoker = createRevoker({
    queue: createRevocationQueue(storage, stored.keys.revocations),
    revoke: revokeWithProof, timers: o.timers, timeoutMs: o.revokeTimeoutMs, clock: o.clock, logger: o.logger,
  })
  let idCounter = 0
  const newId = () => `${o.clock.now().toString(36)}-${Math.floor(o.random() * 2 ** 32).toString(36)}-${(++idCounter).toString(36)}`
  const pairs = createPairWaiters(o.timers)
  const revokeOrphan = (s: Session) => {
    if (s.refreshToken !== null) void revoker.enqueue(s.refreshToken).then(() => revoker.flush(), ignore)
  }
  const refresher = createRefresher({
    stored, persistTokens: o.persistTokens, lock: o.lock, refresh: refreshWithProof, clock: o.clock, timers: o.timers,
    timeoutMs: o.refreshTimeoutMs, newId, pairs, pairWaitMs: 2_000, revokeOrphan,
    announce: (s) => o.sync?.publish(pairMessage(s, o.persistTokens, o.clock, 'refresh')),
  })
  const retryer = createRetryer({
    clock: o.clock, timers: o.timers, random: o.random, backoff: o.backoff,
    isForeground: () => o.foreground.isForeground(), isOnline: () => o.online.isOnline(),
    due: () => {
      const s = live()
      if (s) void refresh(s.id).catch(ignore)
    },
  })
  const finishSignOut = createSignOutSteps({
    stored, persistTokens: o.persistTokens, revoker, cleanups, emitter, sync: o.sync, logger: o.logger,
    isOnline: () => o.online.isOnline(), takeUnsaved: refresher.takeUnsaved,
  })

  let phase: Phase = { kind: 'signedOut' }
  let started: Promise<void> | null = null
  const unsubscribes: Array<() => void> = []
  const live = () => (phase.kind === 'signedIn' ? phase.session : null)
  // A function, not a narrowed read: the phase can change across any await.
  const isLocked = () => phase.kind === 'locked'

  store.subscribe((state, previous) => emitter.emit('stateChanged', { state, previous }))
  const setStatus = (status: SessionStatus, extra: Partial<SessionState> = {}) => {
    const s = live()
    const next: SessionState = { status, ready: true, claims: s?.claims ?? null, ...extra }
    if (s?.expiresAt != null) next.expiresAt = s.expiresAt
    store.set(next)
  }

  const planAhead = (s: Session) => {
    // No access token (cookie mode after a restart): refresh now. Else at expires_in − margin,
    // or at half the remaining life when that is shorter (a server issuing short tokens cannot
    // drive a refresh loop). Already expired: the next need refreshes.
    if (s.accessToken === null) return retryer.planAt(o.clock.monotonic())
    if (s.expiresAt === null) return retryer.end()
    const remaining = s.expiresAt - o.clock.monotonic()
    if (remaining <= 0) return retryer.end()
    retryer.planAt(s.expiresAt - Math.min(o.refreshMargin, remaining / 2))
  }

  /** Makes `next` the pair in use (unless locked: it is persisted, memory stays empty until unlock). */
  const commit = (next: Session, source: 'network' | 'storage' | 'broadcast' | 'signIn') => {
    if (phase.kind !== 'signedIn') return
    phase = { ...phase, session: next }
    pairs.deliver(next)
    retryer.succeeded()
    setStatus('signedIn')
    planAhead(next)
    if (source !== 'signIn') emitter.emit('refreshed', { expiresAt: next.expiresAt ?? undefined, source })
    // (A refreshed pair was announced by the refresher, under the lock.)
    if (source === 'signIn') o.sync?.publish(pairMessage(next, o.persistTokens, o.clock, 'signIn'))
  }

  /** Local first: memory and state now, then everything in `finishSignOut`. */
  const endSession = async (reason: SignOutReason, error?: LatchkeyError, options?: SignOutOptions) => {
    const ending = live()
    sessionController(phase)?.abort()
    phase = { kind: 'signedOut' }
    retryer.end()
    setStatus('signedOut', { reason, ...(error ? { error } : {}) })
    if (sessionKeys) {
      // The key goes with the session; its signer stays in memory for this session's revocation.
      const signer = await sessionKeys.end()
      if (signer && ending && isDpopBound(ending.tokenType)) revokeSigners.set(ending.refreshToken, signer)
    }
    await finishSignOut(ending, reason, error, options)
  }

  const signedOutElsewhere = () => endSession('signed_out_elsewhere', undefined, { revoke: false, clearStorage: false, broadcast: false })

  /** What a failed refresh means: the session ends (definitive rejection), or it stays and the retryer plans. */
  const refreshFailed = async (raw: unknown): Promise<never> => {
    // A custom refresh function may throw anything; unknown failures are network-class.
    const error = isLatchkeyError(raw) ? raw : new NetworkError('unreachable', 'refresh failed', { cause: raw })
    const ending: SignOutReason | null = o.isRefreshRejected(raw)
      ? 'refresh_rejected'
      : raw instanceof CredentialInvalidatedError ? 'credential_invalidated'
      : raw instanceof StorageCorruptError ? 'storage_corrupt'
      : null
    if (raw instanceof ClientConfigError) {
      // The client's set-up is wrong (invalid_client, refused proofs): backoff cannot fix it.
      o.logger.error('the authorization server refused the client configuration', { code: raw.code, error: raw.error })
      if (live()) {
        retryer.end()
        setStatus('signedIn', { error })
      }
      emitter.emit('refreshFailed', { error, willRetry: false })
      throw error
    }
    if (ending) {
      emitter.emit('refreshFailed', { error, willRetry: false })
      await endSession(ending, error, { revoke: false })
      throw error
    }
    if (live()) {
      const retryInMs = retryer.failed(error)
      setStatus(isNetworkError(error) ? 'offline' : 'signedIn', { error })
      emitter.emit('refreshFailed', { error, willRetry: true, retryInMs })
    }
    throw error
  }

  const flight = createSingleFlight<Session>()
  /** The one refresh (single-flight); the refresher says what happened and this commits it. */
  const refresh = (staleId: string): Promise<Session> =>
    flight.run(async () => {
      if (phase.kind !== 'signedIn') throw phase.kind === 'locked' ? new LockedError() : new SignedOutError()
      const ended = phase.controller.signal
      setStatus('refreshing')
      let outcome: RefreshOutcome
      try {
        outcome = await refresher.run({ staleId, memory: live, ended })
      } catch (raw) {
        if (ended.aborted) throw raw instanceof SignedOutError ? raw : new SignedOutError()
        if (!(raw instanceof StoredSessionGone)) return refreshFailed(raw)
        await signedOutElsewhere()
        throw raw
      }
      if (ended.aborted) {
        // Ended between the refresher's last check and now: the pair is live at the server.
        if (outcome.kind === 'refreshed') {
          revokeOrphan(outcome.session)
          void stored.clearIfStill(outcome.session.id).catch(ignore)
        }
        throw new SignedOutError()
      }
      if (outcome.kind === 'refreshed') commit(outcome.session, outcome.source)
      else if (live()) setStatus('signedIn')
      return outcome.session
    })

  /** Reads the stored record into memory. A transient read failure keeps what we had and says so. */
  const restore = async (fallback: 'signedOut' | 'locked') => {
    let record
    try {
      record = await stored.read()
    } catch (error) {
      if (error instanceof CredentialInvalidatedError) return endSession('credential_invalidated', error, { revoke: false })
      if (error instanceof StorageCorruptError) return endSession('storage_corrupt', error, { revoke: false })
      o.logger.warn('could not read the stored session; will retry', { code: (error as LatchkeyError).code })
      phase = fallback === 'locked' ? { kind: 'locked', controller: sessionController(phase) ?? new AbortController() } : { kind: 'unread' }
      // Not a sign-out: the session's fate is unknown until a read succeeds, so `ready` stays
      // false (a route guard keeps its splash up instead of redirecting to sign-in).
      return setStatus(fallback, { error: error as LatchkeyError, ...(fallback === 'signedOut' ? { ready: false } : {}) })
    }
    if (record === null) {
      // Signed out meanwhile (another context, or a locked session's record is gone).
      sessionController(phase)?.abort()
      phase = { kind: 'signedOut' }
      return setStatus('signedOut')
    }
    const next = stored.toSession(record)
    phase = signedIn(next, phase.kind === 'locked' ? phase.controller : undefined)
    setStatus('signedIn')
    planAhead(next)
  }

  const onResume = () => {
    if (phase.kind === 'unread') return void restore('signedOut')
    const s = live()
    if (!s) return
    // A refresh that failed or fell due while offline runs now; a device that was merely
    // offline with a still-valid token just goes back to signedIn.
    if (retryer.resume()) void refresh(s.id).catch(ignore)
    else if (store.get().status === 'offline' && o.online.isOnline()) setStatus('signedIn')
  }

  const onSync = async (message: SyncMessage) => {
    if (message.type === 'signedOut') {
      if (phase.kind === 'signedIn' || phase.kind === 'locked') await signedOutElsewhere()
      return
    }
    if (phase.kind === 'locked' || live()?.id === message.id) return
    // Signed out here: only another context's sign-in brings a session, never a late refresh.
    if (phase.kind !== 'signedIn' && message.origin !== 'signIn') return
    const next = await sessionFromPairMessage(message, { persistTokens: o.persistTokens, stored, clock: o.clock })
    if (!next || isLocked() || live()?.id === next.id) return
    // Another context signed in while this one was signed out: adopt its session.
    if (phase.kind !== 'signedIn') phase = signedIn(next)
    if (message.origin === 'signIn') sessionKeys?.forget()
    commit(next, 'broadcast')
  }

  const start = (): Promise<void> => {
    if (started) return started
    retryer.resumeScheduling()
    unsubscribes.push(
      o.foreground.subscribe(() => {
        retryer.foregroundChanged()
        if (o.foreground.isForeground()) onResume()
      }),
      o.online.subscribe((online) => {
        if (!online) {
          // Report it at once (DESIGN: offline is a state, never a sign-out); refreshes wait.
          if (live() && store.get().status === 'signedIn') setStatus('offline')
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
        phase = { kind: 'locked', controller: new AbortController() }
        return setStatus('locked')
      }
      await restore('signedOut')
      if (o.online.isOnline()) void revoker.flush()
    })()
    return started
  }

  const ensureStarted = () => started ?? start()
  const tokens = createTokenSource({
    ready: async () => {
      await ensureStarted()
      if (phase.kind === 'unread') await restore('signedOut')
    },
    live, isLocked, retryer, refresh, refreshMargin: o.refreshMargin, clock: o.clock,
    isForeground: () => o.foreground.isForeground(),
    sendsTo: o.tokenOrigins,
    ...(sessionKeys ? { dpop: () => sessionKeys.signer() } : {}),
  })

  const signInFetch = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const first = new Request(input, init)
    if (!sessionKeys) return o.fetch(first)
    const signer = await sessionKeys.forSignIn()
    const spare = first.body === null ? null : first.clone()
    const send = async (request: Request) => {
      request.headers.set('DPoP', await signer.proof(request.method, request.url))
      const response = await o.fetch(request)
      return { response, changed: signer.learn(request.url, response.headers) }
    }
    const { response, changed } = await send(first)
    if (!(await worthRetry(response, changed))) return response
    void response.body?.cancel().catch(ignore)
    return (await send(spare ?? new Request(input, init))).response
  }

  return {
    start,
    stop() {
      for (const unsubscribe of unsubscribes.splice(0)) unsubscribe()
      retryer.halt()
      started = null
    },
    async signIn(response) {
      await ensureStarted()
      const parsed = parseTokenResponse(response)
      const next = sessionFromResponse(parsed, null, o.clock.monotonic(), o.clock, newId())
      if (isDpopBound(parsed.tokenType) && !sessionKeys) throw new TypeError('signIn: the token is DPoP-bound (RFC 9449) but the client has no `dpop` option')
      // The key first (a bound session without its key is useless), then the pair; if storage
      // refuses either, nothing changes in memory.
      await sessionKeys?.adopt(parsed.tokenType)
      await stored.save(next)
      // A refresh in flight for an earlier session (signed in or locked) must not keep its result.
      sessionController(phase)?.abort()
      phase = signedIn(next)
      retryer.end()
      commit(next, 'signIn')
    },
    async signOut({ reason = 'user', revoke = true } = {}) {
      await ensureStarted()
      if (phase.kind === 'signedOut' && store.get().status === 'signedOut') return void (await stored.clear().catch(ignore))
      await endSession(reason, undefined, { revoke })
    },
    getAccessToken: async () => (await tokens.credential())?.accessToken ?? null,
    fetch: createAuthFetch(tokens.source, o.fetch),
    signInFetch,
    getState: store.get,
    subscribe: (listener) => store.subscribe(() => listener()),
    on: emitter.on,
    onSignOut: cleanups.add,
    lock() {
      phase = { kind: 'locked', controller: sessionController(phase) ?? new AbortController() }
      retryer.end()
      setStatus('locked')
    },
    async unlock() {
      await ensureStarted()
      if (phase.kind !== 'locked') return
      await restore('locked')
      if (phase.kind !== 'locked' && o.online.isOnline()) void revoker.flush()
    },
    flushRevocations: () => revoker.flush(),
    tokenSource: tokens.source,
  }
}
