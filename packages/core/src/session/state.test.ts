import { describe, expect, it, vi } from 'vitest'
import { makeClient, pair } from '../test-support/client.js'
import { OAuthError } from '../errors/errors.js'
import { DEFAULT_STORAGE_KEY } from './stored-session.js'
import type { TokenResponse } from './token-response.js'

describe('state store and typed events', () => {
  it('getState() is referentially stable until something changes (useSyncExternalStore)', async () => {
    const { client } = makeClient()
    await client.start()
    const a = client.getState()
    expect(client.getState()).toBe(a)
    const listener = vi.fn()
    const off = client.subscribe(listener)
    await client.signIn(pair(1))
    expect(listener).toHaveBeenCalled()
    const b = client.getState()
    expect(b).not.toBe(a)
    expect(client.getState()).toBe(b)
    off()
    await client.signOut()
    expect(listener).toHaveBeenCalledTimes(1)
  })

  it('emits refreshed, refreshFailed, signedOut, stateChanged; off() stops delivery; a throwing handler is isolated', async () => {
    const { client, time, refresh } = makeClient()
    const seen: string[] = []
    client.on('stateChanged', ({ state, previous }) => seen.push(`${previous.status}->${state.status}`))
    client.on('refreshed', (e) => seen.push(`refreshed:${e.source}`))
    client.on('refreshFailed', (e) => seen.push(`failed:${e.error.code}:${e.willRetry}`))
    client.on('signedOut', (e) => seen.push(`signedOut:${e.reason}`))
    client.on('refreshed', () => {
      throw new Error('bad handler')
    })
    const off = client.on('refreshed', () => seen.push('should-not-see'))
    off()
    await client.signIn(pair(1, 600))
    refresh.mockRejectedValueOnce(new TypeError('offline'))
    await time.advance(540_000)
    await time.advance(750)
    await client.signOut({ reason: 'switch_account' })
    expect(seen).toEqual([
      'signedOut->signedOut', // ready: storage was read (empty)
      'signedOut->signedIn',
      'signedIn->refreshing',
      'refreshing->offline',
      'failed:LK_NETWORK:true',
      'offline->refreshing',
      'refreshing->signedIn',
      'refreshed:network',
      'signedIn->signedOut',
      'signedOut:switch_account',
    ])
  })

  it('claims are the decoded JWT payload (display only), null for opaque tokens', async () => {
    const { client } = makeClient()
    const payload = Buffer.from(JSON.stringify({ sub: 'ü-1', name: 'Zoë' })).toString('base64url')
    await client.signIn({ access_token: `x.${payload}.y`, token_type: 'Bearer', expires_in: 60 })
    expect(client.getState().claims).toEqual({ sub: 'ü-1', name: 'Zoë' })
    await client.signIn(pair(2))
    expect(client.getState().claims).toBeNull()
  })

  it('signIn rejects an invalid token response with a typed error that does not echo tokens', async () => {
    const { client } = makeClient()
    const err = await client.signIn({ access_token: 'secret-value', expires_in: 'soon' as unknown as number }).catch((e: Error) => e)
    expect(err).toMatchObject({ code: 'LK_INVALID_TOKEN_RESPONSE' })
    expect(String((err as Error).message)).not.toContain('secret-value')
  })

  it('signIn given an OAuth error body (RFC 6749 §5.2) throws it as LK_OAUTH with error and error_description, and stays signed out', async () => {
    const { client, storage } = makeClient()
    await client.start()
    const body = { error: 'invalid_request', error_description: 'Content-Type must be application/json' }
    const err = await client.signIn(body as unknown as TokenResponse).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OAuthError)
    expect(err).toMatchObject({ code: 'LK_OAUTH', error: 'invalid_request', description: 'Content-Type must be application/json' })
    expect((err as Error).message).toBe('invalid_request: Content-Type must be application/json')
    expect(client.getState().status).toBe('signedOut')
    expect(await storage.getItem(DEFAULT_STORAGE_KEY)).toBeNull()
  })

  it('signIn given an error body without a description still names the error; a token response that also carries error is a token response', async () => {
    const { client } = makeClient()
    const err = await client.signIn({ error: 'access_denied' } as unknown as TokenResponse).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'LK_OAUTH', error: 'access_denied', description: undefined })
    await client.signIn({ ...pair(1), error: 'ignored' })
    expect(client.getState().status).toBe('signedIn')
  })
})
