import {
  consoleLogger, globalFetch, systemClock, systemTimers,
  type Clock, type FetchLike, type Logger, type Timers,
} from '../env/ambient.js'
import { createForegroundManager, createOnlineManager, type ForegroundManager, type OnlineManager } from '../env/manager.js'
import { RefreshRejectedError } from '../errors/errors.js'
import { inProcessLock, type SessionLock } from '../lock/lock.js'
import type { RefreshFn, RevokeFn } from '../oauth/oauth2.js'
import type { BackoffOptions } from '../refresh/backoff.js'
import { resolveDpopOption, type DpopOption } from '../dpop/session-keys.js'
import { memoryStorage } from '../storage/memory.js'
import type { SessionStorage } from '../storage/types.js'
import type { SessionSync } from '../sync/broadcast.js'
import { tokenOrigins } from '../transport/origins.js'
import type { PersistTokens } from './session.js'

export interface SessionClientOptions {
  /** Obtains a new pair: `oauth2Refresh({ tokenEndpoint })` or your own function. */
  refresh: RefreshFn
  /** Server-side revocation after sign-out: `oauth2Revoke({ revocationEndpoint })`. */
  revoke?: RevokeFn
  /**
   * Origins (`https://api.example.com`) whose requests get the access token from `client.fetch`
   * and `attachAxios`, with refresh and replay on a 401; a request to any other origin goes out
   * without it, as the caller built it (RFC 6750 §5.3). Default: the token endpoint's origin, when
   * `refresh` says where that is (`oauth2Refresh` does). With a custom refresh function and no
   * list, `client.fetch` and `attachAxios` reject with a TypeError.
   */
  tokenOrigins?: string[]
  /**
   * DPoP (RFC 9449): bind the session's tokens to a key that never leaves the device. A key store
   * (`@latchkey/expo`'s `dpopKeyStore()`: one key per session) or one fixed key. With it,
   * `client.signInFetch` proves the new key on the sign-in request; a sign-in answered with
   * `token_type: DPoP` makes the session bound, and then every refresh, revocation and
   * `client.fetch` / axios request to `tokenOrigins` carries a proof (and the `DPoP` scheme).
   */
  dpop?: DpopOption
  storage?: SessionStorage
  /** Key of the one session record (default `latchkey.session`). */
  storageKey?: string
  /** 'all' (default) stores the pair; 'none' stores no secret (web, refresh token in an httpOnly cookie). */
  persistTokens?: PersistTokens
  /** Refresh this long before expiry, in ms (default 60 000). */
  refreshMargin?: number
  /**
   * Each refresh settles within this, lock wait and every network step included (default
   * 10 000 ms). With the server's grace window it is one design: see `latestRetryArrivalMs`.
   */
  refreshTimeoutMs?: number
  revokeTimeoutMs?: number
  backoff?: BackoffOptions
  /** Which refresh failures end the session. Default: `invalid_grant` (RefreshRejectedError). */
  isRefreshRejected?: (error: unknown) => boolean
  /** Start in `locked` without reading storage; `unlock()` restores (biometric gate). */
  startLocked?: boolean
  clock?: Clock
  timers?: Timers
  fetch?: FetchLike
  lock?: SessionLock
  sync?: SessionSync
  random?: () => number
  logger?: Logger
  foreground?: ForegroundManager
  online?: OnlineManager
}

/** The timing defaults; with the server's grace window they are one design (see refresh/timing.ts). */
export const SESSION_DEFAULTS = {
  refreshMargin: 60_000,
  refreshTimeoutMs: 10_000,
  revokeTimeoutMs: 10_000,
  backoff: { baseMs: 1_000, maxMs: 60_000 },
} as const

/** Every default resolved once, when the client is created. */
export function resolveOptions(options: SessionClientOptions) {
  if (typeof options.refresh !== 'function') throw new TypeError('createSessionClient: `refresh` is required')
  const margin = options.refreshMargin ?? SESSION_DEFAULTS.refreshMargin
  if (!(margin >= 0)) throw new TypeError('createSessionClient: `refreshMargin` must be >= 0 (ms)')
  return {
    refresh: options.refresh,
    revoke: options.revoke,
    tokenOrigins: tokenOrigins(options.tokenOrigins, options.refresh.tokenEndpoint),
    dpop: resolveDpopOption(options.dpop),
    storage: options.storage ?? memoryStorage(),
    storageKey: options.storageKey ?? 'latchkey.session',
    persistTokens: options.persistTokens ?? 'all',
    refreshMargin: margin,
    refreshTimeoutMs: options.refreshTimeoutMs ?? SESSION_DEFAULTS.refreshTimeoutMs,
    revokeTimeoutMs: options.revokeTimeoutMs ?? SESSION_DEFAULTS.revokeTimeoutMs,
    backoff: { ...SESSION_DEFAULTS.backoff, ...options.backoff },
    isRefreshRejected: options.isRefreshRejected ?? ((error: unknown) => error instanceof RefreshRejectedError),
    startLocked: options.startLocked ?? false,
    clock: options.clock ?? systemClock(),
    timers: options.timers ?? systemTimers(),
    fetch: options.fetch ?? globalFetch(),
    lock: options.lock ?? inProcessLock(),
    sync: options.sync,
    random: options.random ?? Math.random,
    logger: options.logger ?? consoleLogger(),
    foreground: options.foreground ?? createForegroundManager(),
    online: options.online ?? createOnlineManager(),
  }
}

export type ResolvedOptions = ReturnType<typeof resolveOptions>
