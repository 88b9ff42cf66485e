import type { TokenResponse } from '@latchkey/core'
import { accountApi, authRequestInit } from '@latchkey/expo'
import { errorFromResponse } from './api-errors'
import { apiUrl } from './config'
import { session } from './session'

export interface Me {
  id: string
  email: string
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

async function credentials(path: '/auth/sign-in' | '/auth/sign-up', email: string, password: string, device: string) {
  // signInFetch: with DPoP on, the request proves the new session's device key (RFC 9449 §5).
  const res = await session.signInFetch(
    `${apiUrl}${path}`,
    authRequestInit({
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ email, password, device }),
    }),
  )
  if (!res.ok) throw await errorFromResponse(res)
  await session.signIn((await res.json()) as TokenResponse)
}

export const signIn = (email: string, password: string, device: string) => credentials('/auth/sign-in', email, password, device)
export const signUp = (email: string, password: string, device: string) => credentials('/auth/sign-up', email, password, device)

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
