import { once } from 'node:events'
import { SMTPServer } from 'smtp-server'

export interface ReceivedMail {
  to: string[]
  raw: string
}

/**
 * A real SMTP server on loopback (the `smtp-server` package) that keeps what it receives. It can
 * be stopped and started again on the same port (SMTP down, then back).
 */
export class TestSmtp {
  readonly received: ReceivedMail[] = []
  #server: SMTPServer | undefined
  #waiters: Array<() => void> = []
  port = 0

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = []
        stream.on('data', (c: Buffer) => chunks.push(c))
        stream.on('end', () => {
          this.received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') })
          for (const w of this.#waiters.splice(0)) w()
          callback()
        })
      },
    })
    server.listen(this.port, '127.0.0.1')
    await once(server.server, 'listening')
    this.port = (server.server.address() as { port: number }).port
    this.#server = server
  }

  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (server) await new Promise<void>((r) => server.close(() => r()))
  }

  /** Messages to `address` so far. */
  to(address: string): ReceivedMail[] {
    return this.received.filter((m) => m.to.includes(address))
  }

  /** Waits for the `n`th message to `address` (1-based) and returns it. */
  async waitFor(address: string, n = 1): Promise<ReceivedMail> {
    for (;;) {
      const got = this.to(address)
      if (got.length >= n) return got[n - 1]!
      await new Promise<void>((r) => this.#waiters.push(r))
    }
  }
}

/** The 8-digit code in a message's text part. */
export function codeOf(mail: ReceivedMail): string {
  const m = /^ {4}(\d{8})\r?$/m.exec(mail.raw)
  if (!m) throw new Error(`no code in the message:\n${mail.raw}`)
  return m[1]!
}
