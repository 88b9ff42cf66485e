import type { Clock, EnvironmentManager, SessionClient } from '@latchkey/core'
import { systemClock } from '@latchkey/core'
import type { LocalAuthenticationModule } from './types.js'

export type UnlockResult =
  | { result: 'success' }
  | { result: 'cancelled' }
  /** Too many failed biometric attempts; the OS passcode is offered when device fallback is on. */
  | { result: 'lockout' }
  | { result: 'not_enrolled' }
  | { result: 'not_available' }
  | { result: 'failed'; error?: unknown; reason?: string }

/**
 * What to do on a device without enrolled biometrics (or without the hardware):
 * 'passcode' asks the OS anyway (device passcode), 'allow' unlocks without a prompt, 'deny' stays locked.
 */
export type NotEnrolledPolicy = 'passcode' | 'allow' | 'deny'

export interface BiometricGateOptions {
  /** A client created with `startLocked: true`. */
  client: SessionClient
  /** expo-local-authentication; not needed with `using: 'secureStore'`. */
  localAuthentication?: LocalAuthenticationModule
  /**
   * 'localAuthentication' (default): the gate prompts, then reads storage.
   * 'secureStore': the storage was made with `requireAuthentication: true` and the OS prompts on read.
   */
  using?: 'localAuthentication' | 'secureStore'
  /** Lock again when the app was in the background at least this long (ms, default 0: always). */
  relockAfterMs?: number
  policyWhenNotEnrolled?: NotEnrolledPolicy
  prompt?: { promptMessage?: string; cancelLabel?: string; fallbackLabel?: string; requireConfirmation?: boolean }
  /** The foreground signal to re-lock on (the one given to the client). */
  foreground?: EnvironmentManager
  clock?: Clock
}

export interface BiometricGate {
  /** Prompts (once, however many callers) and restores the session on success. */
  unlock(): Promise<UnlockResult>
  /** Locks now: tokens leave memory. */
  lock(): void
  /** Starts watching the foreground for re-locking; returns the stop function. */
  start(): () => void
}

const mapError = (error: string): UnlockResult => {
  switch (error) {
    case 'user_cancel':
    case 'system_cancel':
    case 'app_cancel':
    case 'user_fallback':
      return { result: 'cancelled' }
    case 'lockout':
      return { result: 'lockout' }
    case 'not_enrolled':
    case 'passcode_not_set':
      return { result: 'not_enrolled' }
    case 'not_available':
      return { result: 'not_available' }
    default:
      return { result: 'failed', reason: error }
  }
}

/**
 * Nothing secret is read until the user passes expo-local-authentication: the client starts
 * `locked` and reads storage only in `client.unlock()`, which runs after a successful prompt.
 * `disableDeviceFallback: false` lets a lockout fall back to the device passcode.
 */
export function createBiometricGate(options: BiometricGateOptions): BiometricGate {
  const { client } = options
  const using = options.using ?? 'localAuthentication'
  const auth = options.localAuthentication
  if (using === 'localAuthentication' && !auth) throw new TypeError('biometricGate: localAuthentication is required')
  const relockAfterMs = options.relockAfterMs ?? 0
  const policy = options.policyWhenNotEnrolled ?? 'passcode'
  const clock = options.clock ?? systemClock()
  let inFlight: Promise<UnlockResult> | null = null
  let backgroundSince: number | null = null

  const relock = () => {
    if (client.getState().status !== 'signedOut') client.lock()
  }

  const restore = async (): Promise<UnlockResult> => {
    await client.unlock()
    const state = client.getState()
    if (state.status === 'signedOut' && state.reason === 'credential_invalidated') return { result: 'failed', reason: state.reason }
    if (state.status !== 'locked') return { result: 'success' }
    // Still locked: the read failed without invalidating anything (device locked, prompt cancelled).
    const cause = (state.error as { cause?: { cause?: { message?: unknown } } } | undefined)?.cause?.cause
    if (typeof cause?.message === 'string' && /cancel/i.test(cause.message)) return { result: 'cancelled' }
    return { result: 'failed', error: state.error }
  }

  const run = async (): Promise<UnlockResult> => {
    if (client.getState().status !== 'locked') return { result: 'success' }
    if (using === 'secureStore') return restore()
    const [hardware, enrolled] = await Promise.all([auth!.hasHardwareAsync(), auth!.isEnrolledAsync()])
    if (!hardware || !enrolled) {
      if (policy === 'allow') return restore()
      if (policy === 'deny') return { result: hardware ? 'not_enrolled' : 'not_available' }
    }
    const answer = await auth!.authenticateAsync({ ...options.prompt, disableDeviceFallback: false })
    if (!answer.success) return mapError(answer.error)
    return restore()
  }

  return {
    unlock() {
      inFlight ??= run()
        .catch((error: unknown): UnlockResult => ({ result: 'failed', error }))
        .finally(() => {
          inFlight = null
        })
      return inFlight
    },
    lock: () => client.lock(),
    start() {
      const fg = options.foreground
      if (!fg) return () => undefined
      return fg.subscribe((foreground) => {
        if (!foreground) {
          // The OS prompt itself may background the app briefly; that is not a background period.
          if (inFlight) return
          backgroundSince = clock.monotonic()
          if (relockAfterMs === 0) relock()
          return
        }
        const since = backgroundSince
        backgroundSince = null
        if (since !== null && clock.monotonic() - since >= relockAfterMs) relock()
      })
    },
  }
}
