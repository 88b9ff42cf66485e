import type { ServerConfig } from '../config.js'
import type { AuthService, Logger } from '../service.js'
import type { ProviderTokens } from './accounts.js'
import { AppleTokens, ProviderTokenRevoker, queueRevocations } from './apple-tokens.js'

/**
 * Sign in with Apple's code exchange and token revocation of this process (issue 15), when the
 * configuration has Apple's key: the revocation worker, started (it sends what a previous run
 * left), and the deletion hook that queues the account's tokens in the deleting transaction.
 */
export function startProviderTokens(o: { service: AuthService; config: ServerConfig; logger: Logger }): { providerTokens: ProviderTokens; revoker: ProviderTokenRevoker } | undefined {
  const { service, config, logger } = o
  if (!config.appleTokens) return undefined
  const tokens = new AppleTokens(config.appleTokens, { secret: config.secret, now: service.o.now, logger })
  const revoker = new ProviderTokenRevoker({ db: service.o.db, tokens, now: service.o.now, logger })
  revoker.start()
  service.onAccountDeleted = {
    inTransaction: async (trx, userId, now) => void (await queueRevocations(trx, { userId }, now)),
    committed: () => revoker.wake(),
  }
  return { providerTokens: { tokens, wake: () => revoker.wake() }, revoker }
}
