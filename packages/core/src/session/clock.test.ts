import { describe, expect, it } from 'vitest'
import { memoryStorage } from '../storage/memory.js'
import { createFakeTime } from '../test-support/fake-time.js'
import { makeClient, pair } from '../test-support/client.js'

const HOUR = 3_600_000
const EXPIRES_IN = 600 // s
const MARGIN = 60_000 // ms (default)
const DUE = EXPIRES_IN * 1000 - MARGIN

/** Advances to just before and exactly at the due time, checking the refresh happens only at the latter. */
async function expectRefreshAtDue(time: ReturnType<typeof createFakeTime>, refresh: { mock: { calls: unknown[] } }, elapsed = 0) {
  await time.advance(DUE - elapsed - 1)
  expect(refresh.mock.calls).toHaveLength(0)
  await time.advance(1)
  expect(refresh.mock.calls).toHaveLength(1)
}

/** Signs in, stops, and returns a second client on the same storage whose wall clock reads `wallDeltaMs` later (negative: earlier). */
async function restartedAfter(wallDeltaMs: number) {
  const storage = memoryStorage()
  const a = makeClient({ storage })
  await a.client.signIn(pair(1, EXPIRES_IN))
  a.client.stop()
  const b = makeClient({ storage })
  b.time.jumpWall(a.time.wall - b.time.wall + wallDeltaMs)
  return b
}

describe('guarantee 5: expiry on the monotonic timeline, from expires_in', () => {
  it.each([
    ['24 h ahead', 24 * HOUR],
    ['24 h behind', -24 * HOUR],
  ])('wall clock %s: proactive refresh exactly at expires_in − margin', async (_label, skew) => {
    const { client, time, refresh } = makeClient()
    time.jumpWall(skew)
    await client.signIn(pair(1, EXPIRES_IN))
    await expectRefreshAtDue(time, refresh)
    expect(await client.getAccessToken()).toBe('access-101')
  })

  it('wall clock jumps during the session (forward then back): no early or late refresh', async () => {
    const { client, time, refresh } = makeClient()
    await client.signIn(pair(1, EXPIRES_IN))
    await time.advance(100_000)
    time.jumpWall(+24 * HOUR)
    expect(await client.getAccessToken()).toBe('access-1')
    await time.advance(100_000)
    time.jumpWall(-48 * HOUR)
    expect(await client.getAccessToken()).toBe('access-1')
    expect(refresh).not.toHaveBeenCalled()
    await expectRefreshAtDue(time, refresh, 200_000)
  })

  it("ignores the JWT's exp claim (an access token that 'expired' by the wall clock is still used)", async () => {
    const { client, time, refresh } = makeClient()
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const jwt = `${b64({ alg: 'none' })}.${b64({ sub: 'u1', exp: Math.floor(time.wall / 1000) - 3600 })}.sig`
    await client.signIn({ access_token: jwt, token_type: 'Bearer', expires_in: EXPIRES_IN, refresh_token: 'r' })
    expect(await client.getAccessToken()).toBe(jwt)
    expect(client.getState().claims).toMatchObject({ sub: 'u1' })
    expect(refresh).not.toHaveBeenCalled()
    await expectRefreshAtDue(time, refresh)
  })

  it('a token that lives shorter than the margin refreshes at half its life, not in a loop', async () => {
    const { client, time, refresh } = makeClient()
    refresh.mockImplementation(async () => pair(2, 30))
    await client.signIn(pair(1, 30))
    await time.advance(14_999)
    expect(refresh).toHaveBeenCalledTimes(0)
    await time.advance(1)
    expect(refresh).toHaveBeenCalledTimes(1)
    await time.advance(15_000)
    expect(refresh).toHaveBeenCalledTimes(2)
  })

  it('state.expiresAt is monotonic arrival time + expires_in', async () => {
    const { client, time } = makeClient()
    await client.signIn(pair(1, EXPIRES_IN))
    expect(client.getState().expiresAt).toBe(time.monotonic + EXPIRES_IN * 1000)
  })

  it('after a restart, remaining life is estimated from the stored wall time', async () => {
    const b = await restartedAfter(200_000) // the app restarts 200 s later
    await b.client.start()
    await expectRefreshAtDue(b.time, b.refresh, 200_000)
  })

  it('after a restart with the wall clock moved back (negative elapsed), the token counts as expired', async () => {
    const b = await restartedAfter(-HOUR)
    b.foreground.setForeground(false)
    await b.client.start()
    expect(await b.client.getAccessToken()).toBe('access-101')
    expect(b.refresh).toHaveBeenCalledTimes(1)
  })

  it('restored with an estimated expiry and no network: the token is used anyway (a 401 decides)', async () => {
    const b = await restartedAfter(-HOUR)
    b.foreground.setForeground(false)
    b.refresh.mockRejectedValue(new TypeError('offline'))
    await b.client.start()
    expect(await b.client.getAccessToken()).toBe('access-1')
    expect(b.client.getState().status).toBe('offline')
  })
})
