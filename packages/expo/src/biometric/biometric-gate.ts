import type { Clock, EnvironmentManager, SessionClient } from '@latchkey/core'
import { systemClock } from '@latchkey/core'
import { findSecureStoreError } from '../storage/errors.js'
import type { SecureStoreModule } from '../storage/types.js'
import { resolveBiometricMode, type BiometricMode } from './mode.js'
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
  /** expo-local-authentication; needed whenever the gate may run in the event-based mode. */
  localAuthentication?: LocalAuthenticationModule
  /**
   * 'auto' (default): 'secureStore' where `resolveBiometricMode` finds the OS-enforced mode
   * available (native, `canUseBiometricAuthentication()`), else 'localAuthentication'. The storage
   * must be made the same way (`expoSessionOptions({ startLocked: true })` does).
   * 'secureStore': the storage was made with `requireAuthentication: true` and the OS prompts on read.
   * 'localAuthentication': the gate prompts, then reads storage (event-based; see README for when
   * that is acceptable).
   */
  using?: 'auto' | 'localAuthentication' | 'secureStore'
  /** For 'auto': the expo-secure-store module the session's storage uses. */
  secureStore?: SecureStoreModule
  /** For 'auto': `Platform.OS`. */
  platform?: string
  /** Lock again when the app was in the background at least this long (ms, default 0: always). */
  relockAfterMs?: number
  policyWhenNotEnrolled?: NotEnrolledPolicy
  prompt?: { promptMessage?: string; cancelLabel?: string; fallbackLabel?: string; requireConfirmation?: boolean }
  /** The foreground signal to re-lock on (the one given to the client). */
  foreground?: EnvironmentManager
  clock?: Clock
}

export interface BiometricGate {
  /** The mode in force, and why the event-based one when it is. */
  readonly mode: BiometricMode
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
 * OWASP MASVS-AUTH-2 / MASVS-STORAGE-1 (finding 14): by default the lock is OS-enforced (the
 * secure-store items need the OS prompt to be read); the event-based mode below is the fallback
 * where that is unavailable, or an explicit choice.
 *
 * Event-based: nothing secret is read until the user passes expo-local-authentication: the client starts
 * `locked` and reads storage only in `client.unlock()`, which runs after a successful prompt.
 * `disableDeviceFallback: false` lets a lockout fall back to the device passcode.
 */
export function createBiometricGate(options: BiometricGateOptions): BiometricGate {
  const { client } = options
  const requested = options.using ?? 'auto'
  if (requested === 'auto' && !options.secureStore && options.platform !== 'web') {
    throw new TypeError("biometricGate: using 'auto' needs the secureStore module (or pass using explicitly)")
  }
  const mode: BiometricMode =
    requested === 'auto'
      ? resolveBiometricMode({ platform: options.platform ?? 'native', secureStore: options.secureStore })
      : requested === 'secureStore'
        ? { using: 'secureStore' }
        : { using: 'localAuthentication', reason: 'explicit' }
  const using = mode.using
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
    // Typed by the storage's error code, not by matching words in a nested message.
    const code = findSecureStoreError(state.error)?.code
    switch (code) {
      case 'LK_SECURE_STORE_AUTH_CANCELLED':
        return { result: 'cancelled' }
      case 'LK_SECURE_STORE_UNAVAILABLE':
      case 'LK_SECURE_STORE_WRITE':
      case undefined:
        return { result: 'failed', error: state.error }
      default:
        // A new SecureStoreErrorCode must be given its meaning here (a compile error until it is).
        return code satisfies never
    }
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
    mode,
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
