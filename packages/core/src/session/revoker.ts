import { isLatchkeyError, isNetworkError } from '../errors/errors.js'
import { withDeadline } from '../env/deadline.js'
import type { Clock, Logger, Timers } from '../env/ambient.js'
import type { RevokeFn } from '../oauth/oauth2.js'
import type { RevocationQueue } from '../storage/revocation-queue.js'
import { createSingleFlight } from '../refresh/single-flight.js'

/**
 * Server-side revocation after a local sign-out (RFC 7009). A revocation is first written to its
 * own storage record, so one that cannot be sent now (offline, 5xx) survives and is retried later.
 */
export function createRevoker(deps: {
  queue: RevocationQueue
  revoke: RevokeFn | undefined
  clock: Clock
  timers: Timers
  timeoutMs: number
  logger: Logger
}) {
  const flight = createSingleFlight<void>()

  const sendOne = (token: string | null): Promise<void> =>
    withDeadline((signal) => deps.revoke!(token, { signal }), { ms: deps.timeoutMs, timers: deps.timers })

  const flush = async () => {
    if (!deps.revoke) return
    for (const item of await deps.queue.read()) {
      try {
        await sendOne(item.token)
      } catch (error) {
        // Network trouble: keep it for the next time the network returns. Anything else is final.
        if (isNetworkError(error) || !isLatchkeyError(error)) return
        deps.logger.warn('revocation refused; dropping it', { code: (error as { code?: unknown }).code })
      }
      await deps.queue.remove(item)
    }
  }

  return {
    /** Whether there is anything to revoke with. */
    get enabled() {
      return deps.revoke !== undefined
    },
    async enqueue(token: string | null) {
      if (!deps.revoke) return
      await deps.queue.add({ token, at: deps.clock.now() })
    },
    /** Sends what is queued; never rejects. */
    flush(): Promise<void> {
      return flight.run(flush).catch((error: unknown) => {
        deps.logger.warn('could not process pending revocations', { code: (error as { code?: unknown }).code })
      })
    },
  }
}
