import type { SessionState } from '@latchkey/core'
import { createElement, type ComponentType, type ReactNode } from 'react'
import { useSession } from './use-session.js'

/**
 * What a protected route may show:
 * - 'restoring': not ready yet, or storage could not be read right now (retried): show a splash;
 * - 'locked': the biometric gate is closed: show the lock screen, nothing secret;
 * - 'signedOut': redirect to sign-in; 'signedIn': render the route.
 */
export type GuardStatus = 'restoring' | 'locked' | 'signedOut' | 'signedIn'

export function guardStatus(state: SessionState): GuardStatus {
  if (!state.ready) return 'restoring'
  switch (state.status) {
    case 'locked':
      return 'locked'
    case 'signedIn':
    case 'refreshing':
    case 'offline':
      return 'signedIn'
    default:
      // A transient read failure (device locked, keychain busy) keeps `ready` false in the core,
      // so it is 'restoring' above, never a redirect to sign-in.
      return 'signedOut'
  }
}

/** For `<Stack.Protected guard={signedIn}>` in an Expo Router layout. */
export function useSessionGuard(): { status: GuardStatus; signedIn: boolean } {
  const { state } = useSession()
  const status = guardStatus(state)
  return { status, signedIn: status === 'signedIn' }
}

export interface SessionGuardProps {
  /** Where signed-out users go, e.g. '/sign-in'. */
  signInHref: string
  /** expo-router's `Redirect` (injected, so this package does not import expo-router). */
  Redirect: ComponentType<{ href: string }>
  /** Shown while restoring (default: nothing). */
  fallback?: ReactNode
  /** Shown while locked (default: `fallback`). */
  locked?: ReactNode
  children?: ReactNode
}

/** A protected layout: redirects signed-out users and renders nothing secret while locked or restoring. */
export function SessionGuard({ signInHref, Redirect, fallback = null, locked, children }: SessionGuardProps) {
  const { status } = useSessionGuard()
  if (status === 'signedIn') return <>{children}</>
  if (status === 'signedOut') return createElement(Redirect, { href: signInHref })
  if (status === 'locked') return <>{locked ?? fallback}</>
  return <>{fallback}</>
}
