import type { SessionClient, TokenResponse } from '@latchkey/core'

/**
 * Sign-in with an identity provider's ID token (issue 15), app side. The native SDKs are injected
 * (the app passes `import * as AppleAuthentication from 'expo-apple-authentication'`, or a function
 * that gets a Google ID token from `expo-auth-session` / `@react-native-google-signin`): no heavy
 * native module is a dependency of this package.
 *
 * The nonce (OpenID Connect Core §3.1.2.1, §15.5.2): the app makes a fresh raw nonce from a CSPRNG
 * for each attempt, hands the provider what it expects (Apple: SHA-256 hex of it; Google: the raw
 * value), and sends the RAW nonce to the server with the ID token; the server checks the token's
 * `nonce` claim against it, so a token captured elsewhere cannot be replayed by this app's users.
 */

/** What `expo-apple-authentication` exports that is used here (its types, redeclared). */
export interface AppleAuthenticationModule {
  signInAsync(options: { requestedScopes?: number[]; nonce?: string; state?: string }): Promise<{
    user: string
    identityToken: string | null
    authorizationCode: string | null
    email: string | null
    fullName: { givenName: string | null; familyName: string | null; middleName?: string | null; nickname?: string | null; namePrefix?: string | null; nameSuffix?: string | null } | null
  }>
  AppleAuthenticationScope: { FULL_NAME: number; EMAIL: number }
}

export interface IdpSignInOptions {
  /** The session to start (`signInFetch` so a DPoP key is bound as for password sign-in). */
  session: Pick<SessionClient, 'signInFetch' | 'signIn'>
  /** The Latchkey server's base URL. */
  baseUrl: string
  /** Defaults to `globalThis.crypto.getRandomValues` (web, Hermes with expo-crypto's polyfill). */
  getRandomValues?: (bytes: Uint8Array) => Uint8Array
  /** SHA-256 hex of a string; defaults to WebCrypto `crypto.subtle` (on native pass expo-crypto's `digestStringAsync`). */
  sha256Hex?: (input: string) => Promise<string>
  /** Adds to the request's options (cookie delivery on the web: `authRequestInit`). */
  requestInit?: (init: RequestInit) => RequestInit
  /** Optional: a device label stored with the session. */
  device?: string
}

export type IdpSignInResult = { status: 'signed_in'; created: boolean } | { status: 'cancelled' }

/** A refusal from the server: `code` is its `error` (e.g. `account_exists_sign_in_to_link`, `invalid_id_token`). */
export class IdpSignInError extends Error {
  override name = 'IdpSignInError'
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message)
  }
}

/** 32 bytes from a CSPRNG, base64url (43 characters). */
export function createRawNonce(getRandomValues?: (bytes: Uint8Array) => Uint8Array): string {
  const random = getRandomValues ?? ((b: Uint8Array) => globalThis.crypto.getRandomValues(b))
  const bytes = random(new Uint8Array(32))
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** SHA-256 of the UTF-8 string, lowercase hex (what Apple puts in the ID token's `nonce`). */
export async function sha256Hex(input: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(input))
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/** POST /auth/id-token, then adopts the token pair. */
export async function postIdToken(o: IdpSignInOptions, input: { idToken: string; rawNonce: string; name?: string; authorizationCode?: string | null }): Promise<{ created: boolean }> {
  const base = o.baseUrl.replace(/\/+$/, '')
  const body: Record<string, string> = { id_token: input.idToken, nonce: input.rawNonce }
  if (input.name) body.name = input.name
  // Sign in with Apple's one-time code: the server exchanges it for the token it revokes when the account is deleted.
  if (input.authorizationCode) body.authorization_code = input.authorizationCode
  if (o.device) body.device = o.device
  const init: RequestInit = { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) }
  const response = await o.session.signInFetch(`${base}/auth/id-token`, o.requestInit ? o.requestInit(init) : init)
  const answer = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined
  if (!response.ok || !answer) {
    const code = typeof answer?.error === 'string' ? answer.error : 'server_error'
    const text = typeof answer?.error_description === 'string' ? answer.error_description : `the server answered ${response.status}`
    throw new IdpSignInError(code, text, response.status)
  }
  await o.session.signIn(answer as unknown as TokenResponse)
  return { created: response.status === 201 }
}

const cancelled = (e: unknown) => {
  const code = (e as { code?: unknown } | null)?.code
  return code === 'ERR_REQUEST_CANCELED' || code === 'ERR_CANCELED' || code === 'SIGN_IN_CANCELLED'
}

/**
 * Sign in with Apple (iOS; on the web Apple's JS SDK gives the same ID token: use `postIdToken`).
 * Apple returns the user's name only on the first authorization: it is sent as `name` (the
 * server keeps it only when the account is created). Apple's `authorizationCode` goes with it: a
 * server with Apple's key exchanges it and revokes Apple's token when the account is deleted.
 */
export async function signInWithApple(o: IdpSignInOptions & { apple: AppleAuthenticationModule }): Promise<IdpSignInResult> {
  const raw = createRawNonce(o.getRandomValues)
  const hashed = await (o.sha256Hex ?? sha256Hex)(raw)
  let credential: Awaited<ReturnType<AppleAuthenticationModule['signInAsync']>>
  try {
    credential = await o.apple.signInAsync({ requestedScopes: [o.apple.AppleAuthenticationScope.FULL_NAME, o.apple.AppleAuthenticationScope.EMAIL], nonce: hashed })
  } catch (e) {
    if (cancelled(e)) return { status: 'cancelled' }
    throw e
  }
  if (!credential.identityToken) throw new IdpSignInError('no_id_token', 'Apple returned no identity token')
  const name = [credential.fullName?.givenName, credential.fullName?.familyName].filter(Boolean).join(' ') || undefined
  const { created } = await postIdToken(o, { idToken: credential.identityToken, rawNonce: raw, name, authorizationCode: credential.authorizationCode })
  return { status: 'signed_in', created }
}

/**
 * Sign in with Google (or any OpenID provider): `getIdToken(nonce)` runs the provider's flow with
 * that nonce (expo-auth-session: `extraParams: { nonce }` with `responseType: 'id_token'`; the
 * google-signin module: `GoogleSignin.signIn({ nonce })`) and resolves with the ID token, or null
 * when the user cancelled. Google puts the nonce in the token as given (raw).
 */
export async function signInWithIdProvider(o: IdpSignInOptions & { getIdToken: (nonce: string) => Promise<string | null> }): Promise<IdpSignInResult> {
  const raw = createRawNonce(o.getRandomValues)
  let idToken: string | null
  try {
    idToken = await o.getIdToken(raw)
  } catch (e) {
    if (cancelled(e)) return { status: 'cancelled' }
    throw e
  }
  if (idToken === null) return { status: 'cancelled' }
  const { created } = await postIdToken(o, { idToken, rawNonce: raw })
  return { status: 'signed_in', created }
}
