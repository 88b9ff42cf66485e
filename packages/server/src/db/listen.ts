import pg from 'pg'

export interface Listener {
  close(): Promise<void>
}

export interface ListenOptions {
  databaseUrl: string
  channel: string
  /** Further channels heard on the same connection (their notifications also go to `onNotify`, with their channel). */
  moreChannels?: readonly string[]
  /** Called with each notification's payload and channel, and with undefined after a reconnect (notifications may have been missed meanwhile). */
  onNotify: (payload: string | undefined, channel?: string) => void
  onError: (message: string) => void
  /**
   * Called with true once LISTEN is in place (first time and after each reconnect) and with false
   * as soon as the connection is seen lost: between the two, notifications may be missed.
   */
  onState?: (listening: boolean) => void
  /** `application_name` of the connection (pg_stat_activity), to tell the listeners apart. */
  applicationName?: string
  /** Delay before reconnecting after the connection is lost (default 2 s). */
  retryMs?: number
}

/**
 * A dedicated PostgreSQL connection that LISTENs on one channel and reconnects when it is lost.
 * Resolves once the first LISTEN is in place (or its attempt failed, then retried in the
 * background): a server that says it is listening hears the next notification.
 */
export async function listen(options: ListenOptions): Promise<Listener> {
  const { databaseUrl, channel, moreChannels = [], onNotify, onError, onState, applicationName, retryMs = 2_000 } = options
  let closed = false
  let client: pg.Client | undefined
  let retry: NodeJS.Timeout | undefined
  let firstAttempt = true

  const scheduleRetry = () => {
    if (closed || retry) return
    retry = setTimeout(() => {
      retry = undefined
      void connect()
    }, retryMs)
    retry.unref()
  }

  const connect = async (): Promise<void> => {
    const first = firstAttempt
    firstAttempt = false
    // TCP keepalive: a connection that silently died is noticed (and reconnected) instead of deaf forever.
    const c = new pg.Client({ connectionString: databaseUrl, keepAlive: true, ...(applicationName ? { application_name: applicationName } : {}) })
    c.on('error', () => undefined) // followed by 'end'
    c.on('notification', (m) => {
      if (m.channel === channel || moreChannels.includes(m.channel)) onNotify(m.payload, m.channel)
    })
    c.on('end', () => {
      if (client === c) {
        client = undefined
        if (!closed) onState?.(false)
      }
      scheduleRetry()
    })
    try {
      await c.connect()
      // The channel names are constants of ours, quoted as identifiers.
      for (const ch of [channel, ...moreChannels]) await c.query(`listen "${ch.replace(/"/g, '""')}"`)
    } catch (e) {
      onError(`cannot listen on ${channel}: ${(e as Error).message}`)
      await c.end().catch(() => undefined)
      scheduleRetry()
      return
    }
    if (closed) return void (await c.end().catch(() => undefined))
    client = c
    onState?.(true)
    if (!first) onNotify(undefined)
  }

  await connect()
  return {
    async close() {
      closed = true
      if (retry) clearTimeout(retry)
      await client?.end().catch(() => undefined)
    },
  }
}
