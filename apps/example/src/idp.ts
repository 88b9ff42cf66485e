import { IdpSignInError, authRequestInit, createRawNonce, postIdToken, sha256Hex } from '@latchkey/expo'
import { apiUrl } from './config'
import { session } from './session'

/** An identity provider the server accepts ID tokens from (GET /auth/providers). */
export interface Provider {
  name: string
  issuer: string
  client_ids: string[]
  /** How the ID token carries the app's nonce: `sha256` (Apple: SHA-256 hex of it) or `raw` (Google). */
  nonce: 'raw' | 'sha256'
}

export async function fetchProviders(): Promise<Provider[]> {
  const res = await fetch(`${apiUrl}/auth/providers`)
  if (!res.ok) return []
  return ((await res.json()) as { providers: Provider[] }).providers
}

const PENDING = 'latchkey.example.idp'

interface Pending {
  provider: string
  issuer: string
  tokenEndpoint: string
  clientId: string
  redirectUri: string
  codeVerifier: string
  rawNonce: string
  state: string
}

const base64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

/**
 * The web sign-in with an OpenID provider that serves public clients (the development stand-ins of
 * `npm start`): the authorization code flow with PKCE (RFC 7636, S256; RFC 9700 §2.1.1: no implicit
 * flow in browsers), a `state` against CSRF, and a fresh nonce whose raw value goes to our server
 * with the ID token. Leaves the page for the provider; `completeWebSignIn` runs on /idp-callback.
 * Real Apple and Google on the web use their own JavaScript SDKs, which give the ID token directly:
 * hand it to `postIdToken` the same way; on iOS and Android use `signInWithApple` /
 * `signInWithIdProvider` of @latchkey/expo with the native modules.
 */
export async function startWebSignIn(p: Provider): Promise<void> {
  const discovery = (await (await fetch(`${p.issuer}/.well-known/openid-configuration`)).json()) as { authorization_endpoint: string; token_endpoint: string }
  const codeVerifier = createRawNonce()
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(codeVerifier))))
  const rawNonce = createRawNonce()
  const pending: Pending = {
    provider: p.name,
    issuer: p.issuer,
    tokenEndpoint: discovery.token_endpoint,
    clientId: p.client_ids[0]!,
    redirectUri: `${window.location.origin}/idp-callback`,
    codeVerifier,
    rawNonce,
    state: createRawNonce(),
  }
  sessionStorage.setItem(PENDING, JSON.stringify(pending))
  const url = new URL(discovery.authorization_endpoint)
  const params = {
    client_id: pending.clientId,
    response_type: 'code',
    scope: 'openid email',
    redirect_uri: pending.redirectUri,
    state: pending.state,
    nonce: p.nonce === 'sha256' ? await sha256Hex(rawNonce) : rawNonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  window.location.assign(url.toString())
}

/** On /idp-callback: checks `state` (and `iss`, RFC 9207), exchanges the code, and signs in with the ID token. */
export async function completeWebSignIn(query: URLSearchParams): Promise<{ created: boolean }> {
  const stored = sessionStorage.getItem(PENDING)
  sessionStorage.removeItem(PENDING)
  if (!stored) throw new IdpSignInError('no_pending_sign_in', 'This sign-in was not started here, or it was already used. Start again.')
  const p = JSON.parse(stored) as Pending
  if (query.get('state') !== p.state) throw new IdpSignInError('state_mismatch', 'This sign-in answer does not match the one started here. Start again.')
  if (query.get('iss') !== null && query.get('iss') !== p.issuer) throw new IdpSignInError('issuer_mismatch', 'This sign-in answer comes from another provider. Start again.')
  const error = query.get('error')
  if (error) throw new IdpSignInError(error === 'access_denied' ? 'cancelled' : error, error === 'access_denied' ? 'Sign-in was cancelled.' : 'The provider refused the sign-in.')
  const code = query.get('code')
  if (!code) throw new IdpSignInError('no_code', 'The provider answered without a code.')
  const res = await fetch(p.tokenEndpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: p.redirectUri, client_id: p.clientId, code_verifier: p.codeVerifier }).toString(),
  })
  const answer = (await res.json().catch(() => ({}))) as { id_token?: string }
  if (!res.ok || !answer.id_token) throw new IdpSignInError('token_exchange_failed', 'The provider did not give an ID token.')
  return postIdToken({ session, baseUrl: apiUrl, requestInit: authRequestInit }, { idToken: answer.id_token, rawNonce: p.rawNonce })
}
