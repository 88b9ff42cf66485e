import { randomBytes } from 'node:crypto'
import pg from 'pg'

export interface Listener {
  /**
   * When (performance.now() ms) the newest heartbeat heard was sent: every notification committed
   * before that moment has been delivered. Undefined while the connection is down, and after it
   * opens until its first heartbeat comes back.
   */
  confirmedAt(): number | undefined
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
  /**
   * Self-notifications on the connection every `everyMs` (default 250 ms); one unheard for
   * `timeoutMs` (default 5 s) means the connection is lost, and it is closed and reopened.
   */
  confirm?: { everyMs?: number; timeoutMs?: number }
  /**
   * Sends a heartbeat notification from another connection (the pool). Unset: from the listening
   * connection itself. From elsewhere is the stronger proof: the heartbeat then travels the path
   * every other process's notifications travel (a commit elsewhere, then delivery here), which a
   * pooler between us and PostgreSQL, or a LISTEN lost to it, breaks for both alike.
   */
  sendHeartbeat?: (channel: string, payload: string) => Promise<unknown>
}

/**
 * A dedicated PostgreSQL connection that LISTENs on one channel and reconnects when it is lost.
 * Resolves once the first LISTEN is in place (or its attempt failed, then retried in the
 * background): a server that says it is listening hears the next notification.
 */
export async function listen(options: ListenOptions): Promise<Listener> {
  const { databaseUrl, channel, moreChannels = [], onNotify, onError, onState, applicationName, retryMs = 2_000 } = options
  const confirmEveryMs = options.confirm?.everyMs ?? 250
  const confirmTimeoutMs = options.confirm?.timeoutMs ?? 5_000
  // This listener's own channel: only it hears its heartbeats.
  const heartbeatChannel = `latchkey_heartbeat_${randomBytes(8).toString('hex')}`
  let closed = false
  let client: pg.Client | undefined
  let retry: NodeJS.Timeout | undefined
  let firstAttempt = true
  let confirmedAt: number | undefined
  let pending: { seq: number; sentAt: number } | undefined
  let seq = 0

  let connecting = false
  const scheduleRetry = () => {
    if (closed || retry || connecting) return
    retry = setTimeout(() => {
      retry = undefined
      void connect()
    }, retryMs)
    retry.unref()
  }

  const connect = async (): Promise<void> => {
    connecting = true
    try {
      await open()
    } finally {
      connecting = false
    }
    if (!client) scheduleRetry() // the attempt failed
  }

  const open = async (): Promise<void> => {
    const first = firstAttempt
    firstAttempt = false
    // TCP keepalive: a connection that silently died is noticed (and reconnected) instead of deaf forever.
    const c = new pg.Client({ connectionString: databaseUrl, keepAlive: true, ...(applicationName ? { application_name: applicationName } : {}) })
    c.on('error', () => undefined) // followed by 'end'
    c.on('notification', (m) => {
      if (m.channel === heartbeatChannel) {
        // Notifications are delivered in commit order: everything committed before this one was sent is in.
        if (client === c && pending && m.payload === String(pending.seq)) {
          confirmedAt = pending.sentAt
          pending = undefined
        }
        return
      }
      if (m.channel === channel || moreChannels.includes(m.channel)) onNotify(m.payload, m.channel)
    })
    c.on('end', () => lost(c))
    try {
      await c.connect()
      // The channel names are constants of ours, quoted as identifiers.
      for (const ch of [channel, ...moreChannels, heartbeatChannel]) await c.query(`listen "${ch.replace(/"/g, '""')}"`)
    } catch (e) {
      onError(`cannot listen on ${channel}: ${(e as Error).message}`)
      await c.end().catch(() => undefined)
      return
    }
    if (closed) return void (await c.end().catch(() => undefined))
    client = c
    // Nothing is confirmed until a heartbeat comes back (a LISTEN answered through a pooler proves nothing): the first goes now.
    confirmedAt = undefined
    pending = undefined
    beat()
    onState?.(true)
    if (!first) onNotify(undefined)
  }

  /** The connection `c` is gone (closed, or silent past the timeout): said once, then reopened. */
  const lost = (c: pg.Client) => {
    if (client !== c) {
      // An older or failed connection closing: reopen only if none is up or on its way.
      if (!client) scheduleRetry()
      return
    }
    client = undefined
    confirmedAt = undefined
    pending = undefined
    if (!closed) onState?.(false)
    // A half-open connection may never close by itself: its socket is dropped here.
    ;(c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy()
    scheduleRetry()
  }

  // A silent peer (a half-open connection: no RST, no data) otherwise passes for alive until TCP
  // keepalive gives up, hours later, while the notifications it should carry are lost.
  const beat = () => {
    const c = client
    if (!c) return
    const at = performance.now()
    if (pending) {
      if (at - pending.sentAt > confirmTimeoutMs) {
        onError(`no heartbeat came back on the LISTEN connection for ${confirmTimeoutMs} ms (a silent connection, or a transaction-mode pooler in the way: LISTEN needs a direct connection, LATCHKEY_LISTEN_URL); reconnecting`)
        lost(c)
      }
      return
    }
    pending = { seq: ++seq, sentAt: at }
    const payload = String(seq)
    // A failure is an unanswered heartbeat (and on the listening connection ends it: 'end').
    ;(options.sendHeartbeat ? options.sendHeartbeat(heartbeatChannel, payload) : c.query('select pg_notify($1, $2)', [heartbeatChannel, payload])).catch(() => undefined)
  }
  const heartbeat = setInterval(beat, confirmEveryMs)
  heartbeat.unref()

  await connect()
  return {
    confirmedAt: () => confirmedAt,
    async close() {
      closed = true
      clearInterval(heartbeat)
      if (retry) clearTimeout(retry)
      await client?.end().catch(() => undefined)
    },
  }
}
