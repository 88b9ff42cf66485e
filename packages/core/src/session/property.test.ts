import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../env/ambient.js'
import { createForegroundManager, createOnlineManager } from '../env/manager.js'
import { isLatchkeyError, RefreshRejectedError } from '../errors/errors.js'
import { inProcessLock } from '../lock/lock.js'
import type { RefreshFn } from '../oauth/oauth2.js'
import { memoryStorage } from '../storage/memory.js'
import { createFakeTime } from '../test-support/fake-time.js'
import { createSessionClient, type SessionClient } from './client.js'

type Outcome = 'ok' | 'network' | 'reject' | 'slow' | 'hang'
type Action =
  | { kind: 'need' }
  | { kind: 'fetch' }
  | { kind: 'server401' }
  | { kind: 'advance'; ms: number }
  | { kind: 'jumpWall'; ms: number }
  | { kind: 'restart' }
  | { kind: 'signOut' }
  | { kind: 'foreground'; value: boolean }
  | { kind: 'online'; value: boolean }

const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'need' } as const), weight: 4 },
  { arbitrary: fc.constant({ kind: 'fetch' } as const), weight: 4 },
  { arbitrary: fc.constant({ kind: 'server401' } as const), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 400_000 }).map((ms) => ({ kind: 'advance', ms }) as const), weight: 4 },
  { arbitrary: fc.integer({ min: -86_400_000, max: 86_400_000 }).map((ms) => ({ kind: 'jumpWall', ms }) as const), weight: 1 },
  { arbitrary: fc.constant({ kind: 'restart' } as const), weight: 1 },
  { arbitrary: fc.constant({ kind: 'signOut' } as const), weight: 1 },
  { arbitrary: fc.boolean().map((value) => ({ kind: 'foreground', value }) as const), weight: 1 },
  { arbitrary: fc.boolean().map((value) => ({ kind: 'online', value }) as const), weight: 1 },
)
const outcome = fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'network', 'reject', 'slow', 'hang')

describe('guarantee 10: property over random interleavings', () => {
  it('at most one refresh in flight per storage; every call settles; only rejection or sign-out ends the session', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { maxLength: 30 }), fc.array(outcome, { minLength: 1, maxLength: 12 }), async (actions, outcomes) => {
        const time = createFakeTime()
        const storage = memoryStorage()
        const lock = inProcessLock() // one per storage, shared by every incarnation of the app
        const foreground = createForegroundManager({ web: false })
        const online = createOnlineManager({ web: false })
        const valid = new Set<string>(['at-0'])
        let issued = 0
        let served = 0
        let inFlight = 0
        let maxInFlight = 0
        let rejectionsServed = 0
        let explicitSignOuts = 0
        const endReasons: string[] = []

        const refresh: RefreshFn = (_rt, { signal }) => {
          const next = outcomes[served++ % outcomes.length]!
          inFlight++
          maxInFlight = Math.max(maxInFlight, inFlight)
          const issue = () => {
            const token = `at-${++issued}`
            valid.clear()
            valid.add(token)
            return { access_token: token, token_type: 'Bearer', expires_in: 300, refresh_token: `rt-${issued}` }
          }
          const p = new Promise<ReturnType<typeof issue>>((resolve, reject) => {
            signal.addEventListener('abort', () => reject(new TypeError('aborted')))
            if (next === 'ok') resolve(issue())
            else if (next === 'network') reject(new TypeError('Network request failed'))
            else if (next === 'reject') {
              rejectionsServed++
              reject(new RefreshRejectedError())
            } else if (next === 'slow') time.timers.setTimeout(() => resolve(issue()), 3_000)
            // 'hang' settles only through the abort signal (the engine's timeout).
          })
          return p.finally(() => inFlight--)
        }
        const fetch = async (input: Request | string | URL) => {
          const token = (input as Request).headers.get('authorization')?.replace('Bearer ', '') ?? ''
          return new Response(null, { status: valid.has(token) ? 200 : 401 })
        }
        const make = (): SessionClient => {
          const c = createSessionClient({
            storage, lock, refresh, fetch, foreground, online, tokenOrigins: ['https://api.test'],
            clock: time.clock, timers: time.timers, random: () => 0.5, logger: silentLogger,
            refreshTimeoutMs: 10_000, backoff: { baseMs: 1_000, maxMs: 8_000 },
          })
          c.on('signedOut', (e) => endReasons.push(String(e.reason)))
          return c
        }

        let client = make()
        await client.signIn({ access_token: 'at-0', token_type: 'Bearer', expires_in: 300, refresh_token: 'rt-0' })
        const calls: Array<{ settled: boolean; error?: unknown }> = []
        const track = (p: Promise<unknown>) => {
          const call: { settled: boolean; error?: unknown } = { settled: false }
          calls.push(call)
          p.then(() => (call.settled = true), (error: unknown) => Object.assign(call, { settled: true, error }))
        }

        for (const a of actions) {
          switch (a.kind) {
            case 'need': track(client.getAccessToken()); break
            case 'fetch': track(client.fetch('https://api.test/resource')); break
            case 'server401': valid.clear(); break
            case 'advance': await time.advance(a.ms); break
            case 'jumpWall': time.jumpWall(a.ms); break
            case 'restart':
              client.stop()
              client = make()
              await client.start()
              break
            case 'signOut':
              explicitSignOuts++
              track(client.signOut())
              break
            case 'foreground': foreground.setForeground(a.value); break
            case 'online': online.setOnline(a.value); break
          }
          expect(maxInFlight).toBeLessThanOrEqual(1)
        }

        // Let everything run out: every call must settle within the engine's timeouts.
        online.setOnline(true)
        foreground.setForeground(true)
        for (let i = 0; i < 6; i++) await time.advance(15_000)
        expect(calls.every((c) => c.settled)).toBe(true)
        for (const c of calls) if (c.error !== undefined) expect(isLatchkeyError(c.error)).toBe(true)
        expect(maxInFlight).toBeLessThanOrEqual(1)

        for (const reason of endReasons) {
          expect(['user', 'refresh_rejected', 'signed_out_elsewhere']).toContain(reason)
          if (reason === 'user') expect(explicitSignOuts).toBeGreaterThan(0)
          if (reason === 'refresh_rejected') expect(rejectionsServed).toBeGreaterThan(0)
          // Another incarnation (restart while an earlier one was ending) cleared storage.
          if (reason === 'signed_out_elsewhere') expect(rejectionsServed + explicitSignOuts).toBeGreaterThan(0)
        }
        if (rejectionsServed === 0 && explicitSignOuts === 0) {
          expect(client.getState().status).not.toBe('signedOut')
          expect(await storage.getItem('latchkey.session')).not.toBeNull()
        }
        client.stop()
      }),
      { numRuns: 300 },
    )
  }, 60_000)
})
