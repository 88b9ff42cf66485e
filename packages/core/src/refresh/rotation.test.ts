import { describe, expect, it } from 'vitest'
import { memoryStorage } from '../storage/memory.js'
import { decodeRecord, encodeRecord } from '../storage/record.js'
import { makeClient, pair } from '../test-support/client.js'

/** Another context (tab, background task, process) rotated the pair and stored it. */
async function rotateElsewhere(storage: ReturnType<typeof memoryStorage>, wallNow: number, n: number, expiresIn = 600) {
  await storage.setItem(
    'latchkey.session',
    encodeRecord({
      v: 1, id: `other-${n}`, tokenType: 'Bearer', accessToken: `access-${n}`, refreshToken: `refresh-${n}`,
      expiresIn, receivedAt: wallNow,
    }),
  )
}

describe('guarantee 3: rotation-aware refresh re-reads storage under the lock', () => {
  it('adopts a newer stored pair instead of refreshing when the token expired', async () => {
    const storage = memoryStorage()
    const { client, time, refresh, foreground } = makeClient({ storage })
    await client.signIn(pair(1, 600))
    foreground.setForeground(false)
    await time.advance(601_000)
    await rotateElsewhere(storage, time.wall, 2)
    const refreshed: string[] = []
    client.on('refreshed', (e) => refreshed.push(e.source))
    expect(await client.getAccessToken()).toBe('access-2')
    expect(refresh).not.toHaveBeenCalled()
    expect(refreshed).toEqual(['storage'])
  })

  it('adopts a newer stored pair after a 401, without a refresh request', async () => {
    const storage = memoryStorage()
    const seen: string[] = []
    const fetch = async (input: Request | string | URL) => {
      const auth = (input as Request).headers.get('authorization') ?? ''
      seen.push(auth)
      return new Response(null, { status: auth === 'Bearer access-2' ? 200 : 401 })
    }
    const { client, time, refresh } = makeClient({ storage, fetch, tokenOrigins: ['https://api.example'] })
    await client.signIn(pair(1, 600))
    await rotateElsewhere(storage, time.wall, 2)
    const res = await client.fetch('https://api.example/me')
    expect(res.status).toBe(200)
    expect(seen).toEqual(['Bearer access-1', 'Bearer access-2'])
    expect(refresh).not.toHaveBeenCalled()
  })

  it('spends the stored (newest) refresh token when storage moved on but the stored access token is expired too', async () => {
    const storage = memoryStorage()
    const { client, time, refresh, foreground } = makeClient({ storage })
    await client.signIn(pair(1, 600))
    foreground.setForeground(false)
    await rotateElsewhere(storage, time.wall, 2, 300)
    await time.advance(601_000)
    await client.getAccessToken()
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(refresh.mock.calls[0]![0]).toBe('refresh-2')
    expect(decodeRecord((await storage.getItem('latchkey.session'))!).refreshToken).toBe('refresh-101')
  })

  it('a response without refresh_token keeps the current refresh token (RFC 6749 §6)', async () => {
    const { client, time, refresh, storage, foreground } = makeClient()
    refresh.mockImplementationOnce(async () => ({ access_token: 'access-x', token_type: 'Bearer', expires_in: 600 }))
    await client.signIn(pair(1, 600))
    foreground.setForeground(false)
    await time.advance(601_000)
    expect(await client.getAccessToken()).toBe('access-x')
    expect(decodeRecord((await storage.getItem('latchkey.session'))!).refreshToken).toBe('refresh-1')
  })

  it('storage emptied by another context ends this session (signed_out_elsewhere)', async () => {
    const { client, time, refresh, storage, foreground } = makeClient()
    await client.signIn(pair(1, 600))
    foreground.setForeground(false)
    await storage.removeItem('latchkey.session')
    await time.advance(601_000)
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'LK_SIGNED_OUT' })
    expect(refresh).not.toHaveBeenCalled()
    expect(client.getState()).toMatchObject({ status: 'signedOut', reason: 'signed_out_elsewhere' })
  })
})
