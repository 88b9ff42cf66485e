import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, describe, expect, it } from 'vitest'
import { startStallingServer } from '../test-support/stalling-server.js'
import { makeClient, pair } from '../test-support/client.js'

// A real garbage collection, as `node --expose-gc` gives, inside this worker.
setFlagsFromString('--expose_gc')
const gc = runInNewContext('gc') as () => void

const collect = async () => {
  for (let i = 0; i < 4; i++) {
    gc()
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
}

describe("client.fetch honours the caller's AbortSignal for the whole exchange", () => {
  let server: Awaited<ReturnType<typeof startStallingServer>> | undefined
  afterEach(async () => server?.close())

  it('aborting while the body is read rejects the read, even after a garbage collection (a weakly held Request signal in undici)', { timeout: 15_000 }, async () => {
    server = await startStallingServer(() => null)
    const { client } = makeClient({ fetch: (input, init) => globalThis.fetch(input, init), tokenOrigins: [server.origin] })
    await client.signIn(pair(1))
    const controller = new AbortController()
    const response = await client.fetch(`${server.origin}/api/stream`, { signal: controller.signal })
    const body = response.text().then(() => 'resolved', (e: Error) => e.name)
    await collect()
    controller.abort()
    expect(await body).toBe('AbortError')
    await server.allReleased()
  })

  it('a signal aborted while the token is being obtained rejects at once, sends nothing, and the shared refresh goes on', async () => {
    const requests: string[] = []
    const { client, refresh, time } = makeClient({ fetch: async (input) => (requests.push(String(input)), new Response('{}')), tokenOrigins: ['http://127.0.0.1:1'] })
    await client.signIn(pair(1, 0)) // expired: the call must refresh first
    let release!: () => void
    refresh.mockImplementationOnce(() => new Promise((resolve) => (release = () => resolve(pair(2)))))
    const controller = new AbortController()
    const call = client.fetch('http://127.0.0.1:1/api/x', { signal: controller.signal }).then(() => 'resolved', (e: Error) => e.name)
    await time.advance(0)
    expect(refresh).toHaveBeenCalledTimes(1)
    controller.abort()
    expect(await call).toBe('AbortError')
    expect(requests).toHaveLength(0)
    release()
    await expect(client.getAccessToken()).resolves.toBe('access-2')
    expect(refresh).toHaveBeenCalledTimes(1)
  })
})
