import type { Kysely } from 'kysely'
import { KEY_ROTATION_CHANNEL, rotateSigningKeys, rotateSigningKeysIfOlderThan, type KeyCipher, type KeyStore, type RotationResult } from './crypto/keys.js'
import { listen, type Listener } from './db/listen.js'
import type { Database } from './db/schema.js'
import type { Logger } from './service.js'
import { scheduleRepeating } from './schedule.js'

export interface KeyRotationOptions {
  db: Kysely<Database>
  keys: KeyStore
  cipher: KeyCipher | undefined
  /** Set on PostgreSQL: rotations made by other processes are heard through LISTEN. */
  databaseUrl: string | undefined
  /** Seconds a key signs before the schedule replaces it; false: rotation only on demand. */
  rotateAfter: number | false
  now: () => Date
  logger: Logger
}

export interface KeyRotation {
  /** Rotates now (the admin channel's `rotate-keys`) and signs with the new key at once in this process. */
  rotate(): Promise<RotationResult>
  /** Rotates when the current key is older than `rotateAfter`; null when it is not (or there is no schedule). */
  rotateIfDue(): Promise<RotationResult | null>
  close(): Promise<void>
}

/**
 * How a server keeps its signing keys current (finding 7): on demand, on a schedule, and when
 * another process rotated. The key store also reloads at a bounded interval and on an unknown
 * `kid` (crypto/keys.ts); the PostgreSQL notification makes the change reach every server at
 * once, so no process keeps signing with a key the others have stopped publishing.
 */
export async function startKeyRotation(o: KeyRotationOptions): Promise<KeyRotation> {
  const reload = (why: string) =>
    o.keys.load().catch((e: unknown) => o.logger.warn('reloading the signing keys failed', { why, error: e instanceof Error ? e.message : String(e) }))

  const rotate = async () => {
    const result = await rotateSigningKeys(o.db, o.now(), o.cipher)
    await o.keys.load()
    o.logger.info('signing keys rotated', { kid: result.kid, previous: result.previous })
    return result
  }
  const rotateIfDue = async () => {
    if (o.rotateAfter === false) return null
    const result = await rotateSigningKeysIfOlderThan(o.db, o.now(), o.rotateAfter, o.cipher)
    if (result) {
      await o.keys.load()
      o.logger.info('signing keys rotated on schedule', { kid: result.kid, previous: result.previous })
    }
    return result
  }

  const listener: Listener | undefined = o.databaseUrl
    ? await listen({
        databaseUrl: o.databaseUrl,
        channel: KEY_ROTATION_CHANNEL,
        onNotify: (kid) => void reload(kid ? `rotation to ${kid}` : 'reconnected'),
        onError: (message) => o.logger.warn('key rotation notifications unavailable; keys still reload every minute', { error: message }),
      })
    : undefined

  const stopSchedule = scheduleRotation(o.rotateAfter, rotateIfDue, o.logger)
  return {
    rotate,
    rotateIfDue,
    async close() {
      await stopSchedule()
      await listener?.close()
    },
  }
}

/**
 * Checks whether a rotation is due at a tenth of the rotation period (at most hourly, at least
 * every 10 s), first a minute after start; timers never keep the process alive.
 */
function scheduleRotation(rotateAfter: number | false, rotateIfDue: () => Promise<unknown>, logger: Logger): () => Promise<void> {
  if (rotateAfter === false) return async () => undefined
  const every = Math.min(3600, Math.max(10, Math.floor(rotateAfter / 10)))
  const task = () =>
    rotateIfDue().then(
      () => undefined,
      (e: unknown) => logger.warn('scheduled key rotation failed', { error: e instanceof Error ? e.message : String(e) }),
    )
  return scheduleRepeating(task, { firstSeconds: Math.min(60, every), everySeconds: every })
}
