import { LockedError, SignedOutError, isNetworkError } from '../errors/errors.js'
import type { Clock } from '../env/ambient.js'
import type { Retryer } from '../refresh/retryer.js'
import type { DpopSigner } from '../dpop/proof.js'
import type { Credential, TokenSource } from '../transport/fetch.js'
import { isUsable, refreshAheadMs, type Session } from './session.js'

/** A need arriving while a retry is due within this long waits for it instead of failing. */
const RETRY_WAIT_MS = 2_000

const credentialOf = (s: Session): Credential => ({ accessToken: s.accessToken!, tokenType: s.tokenType })

/**
 * Which token a caller gets, and when a need refreshes: a token inside the refresh margin is
 * refreshed on demand (the still-valid token is the fallback if the network fails); after a
 * network failure, needs share the retryer's planned retry instead of each starting a refresh.
 */
export function createTokenSource(deps: {
  /** Started, and storage read if an earlier read failed. */
  ready: () => Promise<void>
  live: () => Session | null
  isLocked: () => boolean
  retryer: Retryer
  /** The one refresh (single-flight) of pair `staleId`. */
  refresh: (staleId: string) => Promise<Session>
  refreshMargin: number
  clock: Clock
  /** Ahead-of-expiry refreshes happen only in the foreground (DESIGN, guarantee 5). */
  isForeground: () => boolean
  /** Where the token may go (`tokenOrigins`). */
  sendsTo: (url: string) => boolean
  /** The session's DPoP signer, when the client has a `dpop` option. */
  dpop?: () => Promise<DpopSigner>
}) {
  const refreshNow = async (s: Session): Promise<Credential> => {
    const held = deps.retryer.hold(RETRY_WAIT_MS)
    if (held && 'error' in held) throw held.error
    if (held) {
      const verdict = await held.wait
      if (verdict) throw verdict
    }
    const next = await deps.refresh(s.id)
    if (deps.isLocked()) throw new LockedError()
    return credentialOf(next)
  }

  const credential = async (): Promise<Credential | null> => {
    await deps.ready()
    if (deps.isLocked()) throw new LockedError()
    const s = deps.live()
    if (!s) return null
    const dueIn = s.expiresAt === null ? Infinity : s.expiresAt - deps.clock.monotonic()
    const usable = isUsable(s, deps.clock)
    if (usable && (dueIn > refreshAheadMs(s, deps.refreshMargin) || !deps.isForeground())) return credentialOf(s)
    try {
      return await refreshNow(s)
    } catch (error) {
      // The session goes on and its token is still valid: better than none, whatever failed
      // (network, storage, an OAuth error). So is, offline, a token whose expiry was guessed from
      // the wall clock after a restart: the resource server's 401 decides.
      if (deps.live() === s && s.accessToken !== null && (isUsable(s, deps.clock) || (s.expiryEstimated && isNetworkError(error)))) return credentialOf(s)
      throw error
    }
  }

  const source: TokenSource = {
    async get() {
      const c = await credential()
      if (!c) throw new SignedOutError()
      return c
    },
    peek: () => {
      const s = deps.live()
      return s && s.accessToken !== null ? credentialOf(s) : null
    },
    async renew(stale) {
      await deps.ready()
      if (deps.isLocked()) throw new LockedError()
      const s = deps.live()
      if (!s) throw new SignedOutError()
      if (s.accessToken !== null && s.accessToken !== stale.accessToken) return credentialOf(s)
      return refreshNow(s)
    },
    sendsTo: deps.sendsTo,
    ...(deps.dpop ? { dpop: deps.dpop } : {}),
  }
  return { credential, source }
}
