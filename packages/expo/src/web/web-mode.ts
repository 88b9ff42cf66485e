import {
  broadcastSync, oauth2Refresh, oauth2Revoke, webLocks,
  type BroadcastChannelConstructor, type FetchLike, type LockManagerLike, type SessionClientOptions,
} from '@latchkey/core'
import { revocationEndpointFor } from '../revocation/revocation-endpoint.js'
import { TOKEN_DELIVERY_HEADER } from './token-delivery-header.js'
import { webStorage, type WebStorageLike } from './web-storage.js'

export { TOKEN_DELIVERY_HEADER }

/**
 * Request options for the app's own sign-in, sign-up and sign-out calls in cookie mode: the
 * delivery header, and `credentials: 'include'` so the cookie is stored and sent.
 */
export function cookieDelivery(init: RequestInit = {}): RequestInit {
  const headers = new Headers(init.headers)
  headers.set(TOKEN_DELIVERY_HEADER, 'cookie')
  return { ...init, headers, credentials: 'include' }
}

export interface WebSessionOptions {
  /** RFC 6749 token endpoint, e.g. `https://api.example.com/oauth/token`. */
  tokenEndpoint: string
  /**
   * RFC 7009 revocation endpoint, called on sign-out to end the session at the server (the
   * httpOnly cookie cannot be deleted from page code). Default: beside the token endpoint
   * (`…/oauth/token` → `…/oauth/revoke`, else `<origin>/oauth/revoke`). `false`: the server has
   * no revocation endpoint, and sign-out only forgets the session in this browser.
   */
  revocationEndpoint?: string | false
  /** Origins that get the access token from `client.fetch` (default: the token endpoint's). */
  tokenOrigins?: string[]
  clientId?: string
  /**
   * RFC 8707: the API whose access tokens this session gets (see `ExpoSessionOptions.resource`).
   * In cookie mode a browser holds one refresh cookie per auth server, so one session, and so one
   * resource, per browser profile: see `@latchkey/core`'s README, *Several APIs*.
   */
  resource?: string
  fetch?: FetchLike
  localStorage?: WebStorageLike
  locks?: LockManagerLike
  BroadcastChannel?: BroadcastChannelConstructor
  /** Name for the Web Lock and the BroadcastChannel (default `latchkey`). */
  name?: string
}

/**
 * Client options for the web with the Latchkey server: the refresh token lives in an httpOnly,
 * SameSite=Strict cookie the page cannot read, the access token only in memory, and nothing
 * secret in localStorage. Tabs share one refresh through the Web Locks API and hand each other
 * new access tokens over BroadcastChannel.
 */
export function webSessionOptions(options: WebSessionOptions): Pick<SessionClientOptions, 'storage' | 'persistTokens' | 'refresh' | 'revoke' | 'tokenOrigins' | 'lock' | 'sync'> {
  const name = options.name ?? 'latchkey'
  const revocationEndpoint = revocationEndpointFor(options.tokenEndpoint, options.revocationEndpoint)
  const endpoint = {
    headers: { [TOKEN_DELIVERY_HEADER]: 'cookie' },
    credentials: 'include' as const,
    ...(options.clientId ? { clientId: options.clientId } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  }
  return {
    storage: webStorage(options.localStorage ? { localStorage: options.localStorage } : {}),
    persistTokens: 'none',
    refresh: oauth2Refresh({ ...endpoint, tokenEndpoint: options.tokenEndpoint, ...(options.resource !== undefined ? { resource: options.resource } : {}) }),
    ...(revocationEndpoint ? { revoke: oauth2Revoke({ ...endpoint, revocationEndpoint }) } : {}),
    ...(options.tokenOrigins ? { tokenOrigins: options.tokenOrigins } : {}),
    lock: webLocks({ name: `${name}.refresh`, ...(options.locks ? { locks: options.locks } : {}) }),
    sync: broadcastSync({ name: `${name}.session`, ...(options.BroadcastChannel ? { BroadcastChannel: options.BroadcastChannel } : {}) }),
  }
}
