import { rolesFromClaims, type SessionState, type SignOutReason, type TokenResponse } from '@latchkey/core'
import { useCallback, useMemo, useSyncExternalStore } from 'react'
import { useSessionClient } from './context.js'

export interface UseSession<C> {
  state: SessionState
  status: SessionState['status']
  /** False until the stored session has been restored (or the client started locked). */
  ready: boolean
  /** The access token's claims, for display only (unverified). */
  claims: C | null
  /**
   * The access token's `roles` claim (decoded, not verified: for what to show, never as the
   * protection; the server checks roles itself). Updated when the token is refreshed; [] when
   * signed out or locked.
   */
  roles: readonly string[]
  /** Whether `roles` holds `role`: e.g. `<Stack.Protected guard={hasRole('admin')}>`. */
  hasRole(role: string): boolean
  signIn(response: TokenResponse): Promise<void>
  signOut(options?: { reason?: SignOutReason }): Promise<void>
  lock(): void
  unlock(): Promise<void>
}

/** The session state, re-rendered on every change (one `useSyncExternalStore` over `subscribe`). */
export function useSession<C = Record<string, unknown>>(): UseSession<C> {
  const client = useSessionClient()
  const state = useSyncExternalStore(client.subscribe, client.getState, client.getState)
  const signIn = useCallback((response: TokenResponse) => client.signIn(response), [client])
  const signOut = useCallback((options?: { reason?: SignOutReason }) => client.signOut(options), [client])
  const lock = useCallback(() => client.lock(), [client])
  const unlock = useCallback(() => client.unlock(), [client])
  const roles = useMemo(() => rolesFromClaims(state.claims), [state.claims])
  const hasRole = useCallback((role: string) => roles.includes(role), [roles])
  return { state, status: state.status, ready: state.ready, claims: state.claims as C | null, roles, hasRole, signIn, signOut, lock, unlock }
}
