import { countAuditEvents, grantRole, silentLogger, startServer } from '@latchkey/server'

export interface E2eServer {
  url: string
  /** Refresh-token grants the server has performed (audit log `refresh` events). */
  refreshCount(): Promise<number>
  /** What `latchkey-server roles grant <email> <role>` does (issue 15). */
  grantRole(email: string, role: string): Promise<void>
  /** Accounts with this email (0 or 1). */
  countUsers(email: string): Promise<number>
  close(): Promise<void>
}

/** The real server on a free loopback port, serving the example app's web build. */
export interface E2eServerOptions {
  dataDir: string
  staticDir: string
  accessTtl: number
  smtpUrl?: string
  /** A fixed port (default any free one): for identity providers that must know the app's origin first. */
  port?: number
  identityProviders?: unknown[]
}

export async function startE2eServer(options: E2eServerOptions): Promise<E2eServer> {
  const server = await startServer({
    port: options.port ?? 0,
    host: '127.0.0.1',
    dataDir: options.dataDir,
    staticDir: options.staticDir,
    accessTtl: options.accessTtl,
    logger: silentLogger,
    // Many accounts are made from one IP in one run; the limits themselves are tested in the server package.
    rateLimit: false,
    // Issue 13: mail goes to a real SMTP server of the test when one is given.
    ...(options.smtpUrl ? { smtpUrl: options.smtpUrl, mailFrom: 'Latchkey e2e <no-reply@example.test>' } : {}),
    ...(options.identityProviders ? { identityProviders: options.identityProviders as never } : {}),
  })
  return {
    url: server.url,
    refreshCount: () => countAuditEvents(server.db, 'refresh'),
    countUsers: async (email) => (await server.db.selectFrom('users').select('id').where('email', '=', email).execute()).length,
    grantRole: async (email, role) => void (await grantRole(server.db, { email, role, by: 'e2e', now: new Date() })),
    close: () => server.close(),
  }
}
