import nodemailer from 'nodemailer'
import type { Logger } from '../service.js'

/** One message as the outbox hands it to a transport. */
export interface OutgoingMail {
  id: string
  to: string
  subject: string
  text: string
  html: string
}

/** Delivers one message; resolves once the receiving server accepted it, rejects otherwise (the outbox retries). */
export interface MailTransport {
  send(mail: OutgoingMail): Promise<void>
  close(): void
}

/**
 * SMTP through nodemailer (`SMTP_URL`, e.g. `smtps://user:pass@smtp.example.com:465` or
 * `smtp://…:587`, STARTTLS when offered). Timeouts bound one attempt well below the outbox's
 * lease (email/outbox.ts), so no other process claims a message while this one still sends it.
 * The Message-ID is derived from the outbox row, so a resend after a crash carries the same ID
 * (receivers and mailbox providers may fold the duplicate).
 */
export function smtpTransport(o: { url: string; from: string; domain: string }): MailTransport {
  const transporter = nodemailer.createTransport(o.url, {
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  })
  return {
    async send(mail) {
      await transporter.sendMail({ from: o.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, messageId: `<${mail.id}@${o.domain}>` })
    },
    close: () => transporter.close(),
  }
}

/**
 * No SMTP configured (`npm start`): the message goes to the server log, text part and all, so a
 * developer can read the code. A development convenience only: production sets SMTP_URL.
 */
export function logTransport(logger: Logger): MailTransport {
  return {
    send(mail) {
      logger.info(
        [
          '--- email (SMTP_URL is not set: logged, not sent) ---',
          `To: ${mail.to}`,
          `Subject: ${mail.subject}`,
          '',
          mail.text,
          '--- end of email ---',
        ].join('\n'),
      )
      return Promise.resolve()
    },
    close() {},
  }
}
