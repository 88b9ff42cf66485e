import { vi } from 'vitest'
import { silentLogger } from '../env/ambient.js'
import { createForegroundManager, createOnlineManager } from '../env/manager.js'
import type { TokenResponse } from '../session/token-response.js'
import { createSessionClient } from '../session/client.js'
import type { SessionClientOptions } from '../session/options.js'
import type { SessionStorage } from '../storage/types.js'
import { memoryStorage } from '../storage/memory.js'
import { createFakeTime } from './fake-time.js'

export const pair = (n: number, expiresIn = 600): TokenResponse => ({
  access_token: `access-${n}`,
  token_type: 'Bearer',
  expires_in: expiresIn,
  refresh_token: `refresh-${n}`,
})

/** A client on fake time, fake environment managers and a scripted refresh function. */
export function makeClient(overrides: Partial<SessionClientOptions> = {}) {
  const time = createFakeTime()
  const foreground = createForegroundManager({ web: false })
  const online = createOnlineManager({ web: false })
  const storage: SessionStorage = overrides.storage ?? memoryStorage()
  let n = 0
  const refresh = vi.fn(async (_rt: string | null, _ctx: { signal: AbortSignal }): Promise<TokenResponse> => pair(++n + 100))
  const client = createSessionClient({
    storage,
    refresh,
    clock: time.clock,
    timers: time.timers,
    random: () => 0.5,
    logger: silentLogger,
    foreground,
    online,
    ...overrides,
  })
  return { client, time, storage, refresh, foreground, online }
}
