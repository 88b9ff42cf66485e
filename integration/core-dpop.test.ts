// Issue 12, both halves against each other: @latchkey/core's DPoP (RFC 9449) session client with a
// WebCrypto P-256 key, against the real Latchkey server (nonces on, its default) on PGlite and
// PostgreSQL, one fake clock driving both. Sign-up through signInFetch (nonce dance), the DPoP
// scheme with ath on /me, rotation, sign-out revoking with a proof, and the lost answer: a refresh
// the server performed whose answer never reached the device, retried 1 minute, 1 hour and 1 day
// later by the reopened app, gets the current pair; the previous token with another key gets nothing.
import {
  accessTokenHash, jwkThumbprint, createForegroundManager, createOnlineManager, createSessionClient, memoryStorage, oauth2Refresh, oauth2Revoke, silentLogger,
  type FetchLike, type SessionStorage,
} from '@latchkey/core'
import { createFakeTime } from '@latchkey/core/testing'
import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { countAuditEvents } from '@latchkey/server'
import { memoryDpopKeyStore } from '../packages/core/src/test-support/dpop-key.js'
import { testBackends } from '../packages/server/src/test-support/databases.js'
import { DpopKey } from '../packages/server/src/test-support/dpop.js'
import { PASSWORD, serverForSuite, sidOf, uniqueEmail, type Pair } from '../packages/server/src/test-support/server.js'

interface Seen {
  method: string
  path: string
  status: number | 'dropped'
  authorization: string | null
  dpop: string | null
  error?: string
}

/** The device's network: records every request; `dropNextToken()` lets the next successful token request reach the server and loses its answer. */
function network() {
  const seen: Seen[] = []
  let dropNext = false
  const fetch: FetchLike = async (input, init) => {
    const request = new Request(input, init)
    const entry: Seen = {
      method: request.method,
      path: new URL(request.url).pathname,
      status: 0,
      authorization: request.headers.get('authorization'),
      dpop: request.headers.get('dpop'),
    }
    seen.push(entry)
    const response = await globalThis.fetch(request)
    if (dropNext && entry.path === '/oauth/token' && response.status === 200) {
      dropNext = false
      await response.arrayBuffer() // the server has answered (and rotated); the device never hears it
      entry.status = 'dropped'
      throw new TypeError('fetch failed: connection reset')
    }
    entry.status = response.status
    if (response.status >= 400) entry.error = ((await response.clone().json().catch(() => ({}))) as { error?: string }).error
    return response
  }
  return { fetch, seen, dropNextToken: () => void (dropNext = true) }
}

const claimsOf = (jwt: string) => decodeJwt(jwt) as Record<string, unknown>

describe.each(testBackends())('@latchkey/core with DPoP against the Latchkey server ($name)', (backend) => {
  const time = createFakeTime({ wall: Date.now() })
  const suite = serverForSuite(backend, { now: () => new Date(time.clock.now()), rateLimit: false })
  const base = () => suite.server.url
  const sessionRow = (sid: string) => suite.server.db.selectFrom('sessions').selectAll().where('id', '=', sid).executeTakeFirstOrThrow()

  /** The app: one session client on `storage` with the device's key store (an app start). */
  function app(storage: SessionStorage, keys: ReturnType<typeof memoryDpopKeyStore>, net: ReturnType<typeof network>) {
    return createSessionClient({
      storage,
      refresh: oauth2Refresh({ tokenEndpoint: `${base()}/oauth/token`, fetch: net.fetch, timers: time.timers }),
      revoke: oauth2Revoke({ revocationEndpoint: `${base()}/oauth/revoke`, fetch: net.fetch }),
      dpop: keys.store,
      fetch: net.fetch,
      clock: time.clock,
      timers: time.timers,
      foreground: createForegroundManager({ web: false }),
      online: createOnlineManager({ web: false }),
      logger: silentLogger,
    })
  }

  async function signedUp() {
    const net = network()
    const keys = memoryDpopKeyStore()
    const storage = memoryStorage()
    const client = app(storage, keys, net)
    const res = await client.signInFetch(`${base()}/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: uniqueEmail('dpop'), password: PASSWORD, device: 'phone' }),
    })
    expect(res.status).toBe(201)
    const pair = (await res.json()) as Pair
    await client.signIn({ ...pair })
    return { client, keys, storage, net, pair }
  }

  it('sign-up through signInFetch (nonce dance), DPoP scheme with ath on /me, rotation, sign-out revoking with a proof', async () => {
    const { client, keys, net, pair } = await signedUp()
    // The nonce dance (RFC 9449 §8): the first proof has no nonce, the server asks for one, once.
    const signUps = net.seen.filter((s) => s.path === '/auth/sign-up')
    expect(signUps.map((s) => [s.status, s.error])).toEqual([[400, 'use_dpop_nonce'], [201, undefined]])
    expect(claimsOf(signUps[0]!.dpop!).nonce).toBeUndefined()
    expect(claimsOf(signUps[1]!.dpop!).nonce).toEqual(expect.any(String))
    // Bound to the key the store saved.
    const jkt = jwkThumbprint(keys.saved()!.publicJwk)
    expect(pair.token_type).toBe('DPoP')
    expect(claimsOf(pair.access_token).cnf).toEqual({ jkt })
    expect((await sessionRow(sidOf(pair.access_token))).dpop_jkt).toBe(jkt)
    expect(keys.log).toEqual(['generate', 'save'])

    const me = await client.fetch(`${base()}/me`)
    expect(me.status).toBe(200)
    const meReq = net.seen.filter((s) => s.path === '/me')
    expect(meReq).toHaveLength(1)
    expect(meReq[0]!.authorization).toBe(`DPoP ${pair.access_token}`)
    expect(claimsOf(meReq[0]!.dpop!)).toMatchObject({ htm: 'GET', htu: `${suite.server.issuer}/me`, ath: accessTokenHash(pair.access_token) })

    // The session list says the session is bound (the example app's devices screen reads `bound`).
    const sessions = (await (await client.fetch(`${base()}/auth/sessions`)).json()) as { sessions: Array<{ current: boolean; bound?: boolean }> }
    expect(sessions.sessions.find((s) => s.current)).toMatchObject({ bound: true })

    // Refresh ahead of expiry rotates with a proof by the same key; the nonce remembered from
    // sign-up is 9 minutes old by then (a nonce lives 1-2 minutes), so the server asks for a new one, once.
    const refreshed = new Promise<void>((resolve) => client.on('refreshed', () => resolve()))
    await time.advance((pair.expires_in - 59) * 1000)
    await refreshed
    const tokenReqs = net.seen.filter((s) => s.path === '/oauth/token')
    expect(tokenReqs.map((s) => [s.status, s.error])).toEqual([[400, 'use_dpop_nonce'], [200, undefined]])
    for (const r of tokenReqs) expect(claimsOf(r.dpop!)).toMatchObject({ htm: 'POST', htu: `${suite.server.issuer}/oauth/token` })
    expect(claimsOf(tokenReqs[1]!.dpop!).ath).toBeUndefined()
    const next = (await client.getAccessToken())!
    expect(next).not.toBe(pair.access_token)
    expect(claimsOf(next).cnf).toEqual({ jkt })
    expect((await client.fetch(`${base()}/me`)).status).toBe(200)
    const sid = sidOf(pair.access_token)
    expect(await countAuditEvents(suite.server.db, 'refresh', { sessionId: sid })).toBe(1)

    await client.signOut()
    await client.flushRevocations()
    expect(keys.saved()).toBeNull()
    const revokes = net.seen.filter((s) => s.path === '/oauth/revoke')
    expect(revokes.map((s) => s.status)).toEqual(expect.arrayContaining([200]))
    expect(revokes.every((s) => s.dpop !== null)).toBe(true)
    expect((await sessionRow(sid)).revoked_at).not.toBeNull()
    expect(await countAuditEvents(suite.server.db, 'dpop_proof_refused', { sessionId: sid })).toBe(0)
    client.stop()
  })

  it.each([
    ['1 minute', 60],
    ['1 hour', 3600],
    ['1 day', 86_400],
  ])('the lost answer: the app reopened %s later retries with the previous token and gets the current pair; another key replaying it gets nothing and the session survives', async (_label, delaySeconds) => {
    const { client, keys, storage, net, pair } = await signedUp()
    const sid = sidOf(pair.access_token)
    // The refresh ahead of expiry reaches the server, which rotates; the answer is lost.
    net.dropNextToken()
    const failed = new Promise<void>((resolve) => client.on('refreshFailed', () => resolve()))
    await time.advance((pair.expires_in - 59) * 1000)
    await failed
    expect(net.seen.filter((s) => s.path === '/oauth/token').map((s) => s.status)).toEqual([400, 'dropped'])
    expect(await countAuditEvents(suite.server.db, 'refresh', { sessionId: sid })).toBe(1)
    // The app is closed before its retry; it opens again later, offline meanwhile.
    client.stop()
    await time.advance(delaySeconds * 1000)
    const reopened = app(storage, keys, net)
    await reopened.start()
    expect(reopened.getState().status).toBe('signedIn')
    const signedOut: string[] = []
    reopened.on('signedOut', (e) => signedOut.push(e.reason))

    const token = (await reopened.getAccessToken())!
    expect(token).not.toBe(pair.access_token)
    expect((await reopened.fetch(`${base()}/me`)).status).toBe(200)
    expect(reopened.getState().status).toBe('signedIn')
    expect(await countAuditEvents(suite.server.db, 'refresh_reuse_detected', { sessionId: sid })).toBe(0)
    expect(await countAuditEvents(suite.server.db, 'refresh', { sessionId: sid })).toBe(1) // the retry got the current pair, no new rotation
    expect((await sessionRow(sid)).revoked_at).toBeNull()

    // A thief replays the previous token (the one the device retried with) with its own key.
    const thief = await DpopKey.create()
    const htu = `${suite.server.issuer}/oauth/token`
    const stolen = await fetch(`${base()}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await thief.proof('POST', htu, new Date(time.clock.now()), { nonce: suite.server.service.dpop.nonce() }) },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: pair.refresh_token }).toString(),
    })
    expect(stolen.status).toBe(400)
    const body = (await stolen.json()) as Record<string, unknown>
    expect(body.error).toBe('invalid_dpop_proof')
    expect(body).not.toHaveProperty('access_token')
    expect((await sessionRow(sid)).revoked_at).toBeNull()
    expect(await countAuditEvents(suite.server.db, 'dpop_proof_refused', { sessionId: sid })).toBe(1)

    // The device is still signed in and keeps rotating: time moves to 1 s past its refresh ahead
    // of expiry and no further (the refresh's own 10 s deadline must not pass while it is on the wire).
    const again = new Promise<void>((resolve) => reopened.on('refreshed', () => resolve()))
    await time.advance((pair.expires_in - 59) * 1000)
    await again
    expect((await reopened.fetch(`${base()}/me`)).status).toBe(200)
    expect(signedOut).toEqual([])
    expect(reopened.getState().status).toBe('signedIn')
    reopened.stop()
  })
})
