import type { LatchkeyError } from '../errors/errors.js'

export type SessionStatus = 'signedOut' | 'signedIn' | 'refreshing' | 'offline' | 'locked'

/** Why a session ended. Apps may pass their own reason strings to `signOut`. */
export type SignOutReason =
  | 'user'
  | 'refresh_rejected'
  | 'credential_invalidated'
  | 'storage_corrupt'
  | 'signed_out_elsewhere'
  | 'account_deleted'
  | 'password_changed'
  | (string & {})

export interface SessionState {
  status: SessionStatus
  /** False until `start()` has restored (or decided not to read) storage. */
  ready: boolean
  /** Set when signed out: why. */
  reason?: SignOutReason
  /** The last failure that did not end the session (network, storage), or the one that did. */
  error?: LatchkeyError
  /** Access-token expiry on the clock's monotonic timeline (ms); absent when unknown. */
  expiresAt?: number
  /** Decoded JWT payload of the access token, for display only: never trusted. */
  claims: Record<string, unknown> | null
}

export const initialState: SessionState = { status: 'signedOut', ready: false, claims: null }

type Listener<S> = (state: S, previous: S) => void

/** A closure over a listener set (zustand's vanilla store, reduced to what the session needs). */
export function createStore<S extends object>(initial: S) {
  let state = initial
  const listeners = new Set<Listener<S>>()
  return {
    get: () => state,
    /** Replaces the state only when a field changed, so `get()` stays referentially stable. */
    set(next: S) {
      const keys = new Set([...Object.keys(state), ...Object.keys(next)]) as Set<keyof S>
      let changed = false
      for (const k of keys) if (state[k] !== next[k]) changed = true
      if (!changed) return
      const previous = state
      state = next
      for (const listener of [...listeners]) listener(state, previous)
    },
    subscribe(listener: Listener<S>) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
  }
}
