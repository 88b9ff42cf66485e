import { describe, expect, it } from 'vitest'
import type { SyncMessage } from '../sync/broadcast.js'
import { makeClient, pair } from '../test-support/client.js'
import { inProcessLock, type SessionLock } from './lock.js'

describe('a refreshed pair is announced to other contexts before the refresh lock is released', () => {
  it('cookie mode: the pair message is published while the lock is still held', async () => {
    const log: string[] = []
    const inner = inProcessLock()
    const lock: SessionLock = {
      run: (task) =>
        inner.run(async () => {
          log.push('lock taken')
          try {
            return await task()
          } finally {
            log.push('lock released')
          }
        }),
    }
    const sync = {
      publish: (m: SyncMessage) => void log.push(`published ${m.type}${m.type === 'pair' ? ` (${m.origin})` : ''}`),
      subscribe: () => () => undefined,
      close() {},
    }
    const { client } = makeClient({ lock, sync, persistTokens: 'none' })
    await client.signIn(pair(1, 0))
    log.length = 0
    await client.getAccessToken()
    // Another context that takes the lock next waits for this message: it must already be sent.
    expect(log).toEqual(['lock taken', 'published pair (refresh)', 'lock released'])
  })
})
