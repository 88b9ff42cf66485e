import type { ServerConfig } from '../config.js'
import type { AuthService, Logger } from '../service.js'
import { EmailFlows } from './flows.js'
import { OutboxWorker } from './outbox.js'
import { logTransport, smtpTransport } from './transport.js'

export interface Email {
  outbox: OutboxWorker
  flows: EmailFlows
}

/** The outbox worker of this process (SMTP when `SMTP_URL` is set, the log otherwise), started, and the flows that queue mail. */
export function startEmail(o: { service: AuthService; config: ServerConfig; logger: Logger }): Email {
  const { config, logger, service } = o
  const domain = /@([^\s<>@]+)>?$/.exec(config.mailFrom)?.[1] ?? 'localhost'
  const transport = config.smtpUrl ? smtpTransport({ url: config.smtpUrl, from: config.mailFrom, domain }) : logTransport(logger)
  if (!config.smtpUrl) logger.warn('SMTP_URL is not set: email (password reset and verification codes) is written to this log instead of sent. Set SMTP_URL and MAIL_FROM in production.')
  const outbox = new OutboxWorker({ db: service.o.db, transport, now: service.o.now, logger })
  outbox.start()
  const flows = new EmailFlows(service, outbox, config.appName)
  service.requireEmailVerification = config.requireEmailVerification
  // A verification code at sign-up, queued in the transaction that creates the account.
  service.onSignUp = { inTransaction: (trx, user, ip, now) => flows.queueVerification(trx, user, ip, now), committed: () => outbox.wake() }
  return { outbox, flows }
}
