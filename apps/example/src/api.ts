import { completeSignUp, type SignUpResult, type TokenResponse } from '@latchkey/core'
import { accountApi, authRequestInit, emailApi } from '@latchkey/expo'
import { errorFromResponse } from './api-errors'
import { apiUrl } from './config'
import { session } from './session'

export interface Me {
  id: string
  email: string
  /** Whether the owner has confirmed the address with an emailed code (issue 13). */
  email_verified?: boolean
}

export interface DeviceSession {
  id: string
  device: string | null
  createdAt: string
  lastUsedAt: string
  current: boolean
  /** A server with DPoP (RFC 9449) says whether the session is bound to its device's key. */
  bound?: boolean
}

/** The request of a sign-in or sign-up; signInFetch: with DPoP on, it proves the new session's device key (RFC 9449 §5). */
function credentials(path: '/auth/sign-in' | '/auth/sign-up', email: string, password: string, device: string) {
  return session.signInFetch(
    `${apiUrl}${path}`,
    authRequestInit({
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ email, password, device }),
    }),
  )
}

export async function signIn(email: string, password: string, device: string): Promise<void> {
  const res = await credentials('/auth/sign-in', email, password, device)
  if (!res.ok) throw await errorFromResponse(res)
  await session.signIn((await res.json()) as TokenResponse)
}

/**
 * Signed in at once, or (a server with LATCHKEY_REQUIRE_EMAIL_VERIFICATION) `verification_required`:
 * nothing is stored until the emailed code is given and the user signs in.
 */
export async function signUp(email: string, password: string, device: string): Promise<SignUpResult> {
  const res = await credentials('/auth/sign-up', email, password, device)
  if (!res.ok) throw await errorFromResponse(res)
  return completeSignUp(session, res)
}

async function authJson<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await session.fetch(`${apiUrl}${path}`, init)
  if (!res.ok) throw await errorFromResponse(res)
  return (await res.json()) as T
}

export const fetchMe = () => authJson<Me>('/me')

export interface AdminUser {
  id: string
  email: string
  createdAt: string
  roles: string[]
}

/** GET /admin/users: the server checks the caller's current `admin` role itself (403 otherwise). */
export const listUsers = (after?: string) =>
  authJson<{ users: AdminUser[]; next: string | null }>(`/admin/users?limit=50${after ? `&after=${encodeURIComponent(after)}` : ''}`)
export const listSessions = () => authJson<{ sessions: DeviceSession[] }>('/auth/sessions').then((b) => b.sessions)

export async function revokeSession(id: string): Promise<void> {
  const res = await session.fetch(`${apiUrl}/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' })
  if (!res.ok) throw await errorFromResponse(res)
}

export async function signOutOthers(): Promise<void> {
  const res = await session.fetch(`${apiUrl}/auth/sign-out-others`, { method: 'POST' })
  if (!res.ok) throw await errorFromResponse(res)
}

/**
 * Change the password, delete the account (POST /auth/change-password, /auth/delete-account).
 * On the web the calls use cookie delivery, so one that ends this session clears its refresh
 * cookie; after a deletion the session is signed out locally (reason `account_deleted`).
 */
export const account = accountApi({ session, baseUrl: apiUrl })

/**
 * Password reset by emailed code (signed out) and email verification (signed in, or by address
 * after a sign-up that requires it): POST /auth/password-reset/*, /auth/verify-email*.
 */
export const email = emailApi({ session, baseUrl: apiUrl })
