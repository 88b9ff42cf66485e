import type { LatchkeyError } from '../errors/errors.js'
import type { Logger } from '../env/ambient.js'
import type { SessionSync } from '../sync/broadcast.js'
import type { createCleanups } from './cleanups.js'
import type { createEmitter } from './events.js'
import type { createRevoker } from './revoker.js'
import type { PersistTokens, Session } from './session.js'
import type { SignOutReason } from './state.js'
import type { StoredSession } from './stored-session.js'

export interface SignOutOptions {
  /** Queue server revocation of the pair's refresh token (default true). */
  revoke?: boolean
  /** Remove the stored record (default true; false when another context already did). */
  clearStorage?: boolean
  /** Tell other contexts (default true; false when the news came from one). */
  broadcast?: boolean
}

/**
 * What follows once memory is empty and the state says `signedOut` (OWASP Session Management
 * Cheat Sheet: logout must end the session everywhere it lives): storage, queued RFC 7009
 * revocations, every cleanup (each isolated), the `signedOut` event, other contexts, and only
 * then the network. Never throws: a sign-out must not fail because storage or the network does.
 */
export function createSignOutSteps(deps: {
  stored: StoredSession
  persistTokens: PersistTokens
  revoker: ReturnType<typeof createRevoker>
  cleanups: ReturnType<typeof createCleanups>
  emitter: ReturnType<typeof createEmitter>
  sync: SessionSync | undefined
  logger: Logger
  isOnline: () => boolean
  /** A newer pair that storage refused is live at the server too. */
  takeUnsaved: () => Session | null
}) {
  const logFailure = (what: string) => (e: unknown) => deps.logger.error(what, { code: (e as LatchkeyError).code })

  return async (ending: Session | null, reason: SignOutReason, error: LatchkeyError | undefined, options: SignOutOptions = {}) => {
    const { revoke = true, clearStorage = true, broadcast = true } = options
    if (clearStorage) await deps.stored.clear().catch(logFailure('could not clear stored session'))
    const tokens: Array<string | null> = []
    // Cookie mode holds no refresh token in JS: a null token revokes the cookie-held one.
    if (ending !== null && (ending.refreshToken !== null || deps.persistTokens === 'none')) tokens.push(ending.refreshToken)
    const held = deps.takeUnsaved()
    if (held?.refreshToken) tokens.push(held.refreshToken)
    const revoking = revoke && deps.revoker.enabled && tokens.length > 0
    if (revoking) for (const token of tokens) await deps.revoker.enqueue(token).catch(logFailure('could not queue revocation'))
    await deps.cleanups.runAll()
    deps.emitter.emit('signedOut', { reason, ...(error ? { error } : {}) })
    if (broadcast) deps.sync?.publish({ type: 'signedOut', reason })
    if (revoking && deps.isOnline()) void deps.revoker.flush()
  }
}
