// @latchkey/core's account calls against the real server: typed errors, and the local sign-out
// after a deletion or a password change that ends this session.
import { AccountError, createAccountApi, createForegroundManager, createOnlineManager, createSessionClient, memoryStorage, oauth2Refresh, oauth2Revoke, silentLogger, type SessionClient } from '@latchkey/core'
import { describe, expect, test } from 'vitest'
import { testBackends } from '../packages/server/src/test-support/databases.js'
import { PASSWORD, getMe, postJson, refresh, serverForSuite, signUp, type Pair } from '../packages/server/src/test-support/server.js'

const NEW_PASSWORD = 'purple elephants juggle quietly'

describe.each(testBackends())('account calls of @latchkey/core against the server on $name', (backend) => {
  const suite = serverForSuite(backend, { rateLimit: { perAccount: { max: 3, windowSeconds: 900 } } })

  /** A session client signed in with a fresh account; `revocations` counts the RFC 7009 calls it makes. */
  async function signedInClient(): Promise<{ client: SessionClient; pair: Pair & { email: string }; revocations: () => number; storage: ReturnType<typeof memoryStorage> }> {
    const base = suite.server.url
    const pair = await signUp(base)
    let revoked = 0
    const countingFetch: typeof fetch = (input, init) => {
      if (String(input instanceof Request ? input.url : input).endsWith('/oauth/revoke')) revoked++
      return fetch(input, init)
    }
    const storage = memoryStorage()
    const client = createSessionClient({
      refresh: oauth2Refresh({ tokenEndpoint: `${base}/oauth/token` }),
      revoke: oauth2Revoke({ revocationEndpoint: `${base}/oauth/revoke`, fetch: countingFetch }),
      storage,
      logger: silentLogger,
      foreground: createForegroundManager({ web: false }),
      online: createOnlineManager({ web: false }),
    })
    await client.signIn({ access_token: pair.access_token, token_type: pair.token_type, expires_in: pair.expires_in, refresh_token: pair.refresh_token })
    return { client, pair, revocations: () => revoked, storage }
  }

  const api = (client: SessionClient) => createAccountApi({ session: client, baseUrl: `${suite.server.url}/` })

  test('deleteAccount: the account is gone, the session is signed out locally (reason account_deleted, storage cleared, cleanups run, no revocation call)', async () => {
    const { client, pair, revocations, storage } = await signedInClient()
    let cleaned = 0
    client.onSignOut(() => void cleaned++)
    expect(await api(client).deleteAccount({ password: PASSWORD })).toEqual({ signedOut: 1 })
    expect(client.getState()).toMatchObject({ status: 'signedOut', reason: 'account_deleted' })
    expect(cleaned).toBe(1)
    expect(await storage.getItem('latchkey.session')).toBeNull()
    expect(await client.getAccessToken()).toBeNull()
    expect(revocations()).toBe(0)
    expect((await getMe(suite.server.url, pair.access_token)).status).toBe(401)
    expect((await postJson(suite.server.url, '/auth/sign-in', { email: pair.email, password: PASSWORD })).status).toBe(401)
    client.stop()
  })

  test('deleteAccount with a wrong password: AccountError wrong_password, the session is kept; over the limit: rate_limited with retryAfter', async () => {
    const { client } = await signedInClient()
    for (let i = 0; i < 3; i++) {
      const e = await api(client).deleteAccount({ password: `wrong ${i}` }).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(AccountError)
      expect(e).toMatchObject({ code: 'LK_ACCOUNT', reason: 'wrong_password', status: 403 })
    }
    expect(client.getState().status).toBe('signedIn')
    const limited = await api(client).deleteAccount({ password: PASSWORD }).catch((x: unknown) => x)
    expect(limited).toMatchObject({ code: 'LK_ACCOUNT', reason: 'rate_limited', status: 429 })
    expect((limited as AccountError).retryAfter).toBeGreaterThan(0)
    expect(client.getState().status).toBe('signedIn')
    client.stop()
  })

  test('changePassword: policy reasons are typed; success keeps this session; endSessions all signs out locally', async () => {
    const { client, pair } = await signedInClient()
    await expect(api(client).changePassword({ currentPassword: PASSWORD, newPassword: 'short' })).rejects.toMatchObject({ reason: 'password_too_short' })
    await expect(api(client).changePassword({ currentPassword: PASSWORD, newPassword: 'password123' })).rejects.toMatchObject({ reason: 'password_common' })
    await expect(api(client).changePassword({ currentPassword: PASSWORD, newPassword: 'x'.repeat(300) })).rejects.toMatchObject({ reason: 'password_too_long' })
    await expect(api(client).changePassword({ currentPassword: PASSWORD, newPassword: `${pair.email.split('@')[0]} 99` })).rejects.toMatchObject({
      reason: 'password_contains_context',
    })
    expect(await api(client).changePassword({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).toEqual({ signedOut: 0, sessionEnded: false })
    expect(client.getState().status).toBe('signedIn')
    expect(await api(client).changePassword({ currentPassword: NEW_PASSWORD, newPassword: PASSWORD, endSessions: 'all' })).toEqual({ signedOut: 1, sessionEnded: true })
    expect(client.getState()).toMatchObject({ status: 'signedOut', reason: 'password_changed' })
    expect((await refresh(suite.server.url, pair.refresh_token)).status).toBe(400)
    client.stop()
  })

  test('a call on a signed-out client rejects with the session error, not a network one', async () => {
    const { client } = await signedInClient()
    await client.signOut()
    await expect(api(client).deleteAccount({ password: PASSWORD })).rejects.toMatchObject({ code: 'LK_SIGNED_OUT' })
    client.stop()
  })
})
