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
  /** Set by an enqueue; a flush in flight then reads the queue again before it ends. */
  let added = false

  const sendOne = (token: string | null): Promise<void> =>
    withDeadline((signal) => deps.revoke!(token, { signal }), { ms: deps.timeoutMs, timers: deps.timers })

  // A revocation queued while a flush is already sending (an orphaned pair arriving just after a
  // sign-out) joins that flush (single flight), so the flush reads the queue again before it ends.
  const flush = async () => {
    if (!deps.revoke) return
    do {
      added = false
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
    } while (added)
  }

  return {
    /** Whether there is anything to revoke with. */
    get enabled() {
      return deps.revoke !== undefined
    },
    async enqueue(token: string | null) {
      if (!deps.revoke) return
      await deps.queue.add({ token, at: deps.clock.now() })
      added = true
    },
    /** Sends what is queued; never rejects. */
    flush(): Promise<void> {
      return flight.run(flush).catch((error: unknown) => {
        deps.logger.warn('could not process pending revocations', { code: (error as { code?: unknown }).code })
      })
    },
  }
}
