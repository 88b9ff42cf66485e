import AsyncStorage from '@react-native-async-storage/async-storage'
import { biometricGate, biometricLockPreference } from '@latchkey/expo'
import * as LocalAuthentication from 'expo-local-authentication'
import { Platform } from 'react-native'
import { session } from './session'

// Where an earlier version of this app kept the preference. Only an 'on' there is carried over;
// an 'off' written there cannot turn the lock off (OWASP MASVS-AUTH-2, finding 14).
const LEGACY_PREFERENCE_KEY = 'latchkey-example.biometric-lock'

export const gate = Platform.OS === 'web' ? null : biometricGate({ client: session, relockAfterMs: 60_000, policyWhenNotEnrolled: 'passcode' })

/**
 * The user's choice, kept in the secure store (not AsyncStorage). Not used on the web, which has
 * no secure store and no gate.
 */
const preference = Platform.OS === 'web' ? null : biometricLockPreference({ legacy: { asyncStorage: AsyncStorage, key: LEGACY_PREFERENCE_KEY } })

/**
 * True when the OS itself guards the session (the secure-store items need Face ID / fingerprint
 * to be read): the lock is always on and the preference cannot turn it off.
 */
export const lockEnforcedByOS = gate?.mode.using === 'secureStore'

export async function biometricsAvailable(): Promise<boolean> {
  if (Platform.OS === 'web') return false
  try {
    return (await LocalAuthentication.hasHardwareAsync()) && (await LocalAuthentication.isEnrolledAsync())
  } catch {
    return false
  }
}

export async function biometricLockEnabled(): Promise<boolean> {
  if (!preference) return false
  if (lockEnforcedByOS) return true
  return preference.get()
}

export async function setBiometricLock(on: boolean): Promise<void> {
  if (!preference || lockEnforcedByOS) return
  await preference.set(on)
}

/**
 * On iOS/Android the client starts locked, so nothing is read from the secure store before this
 * runs: with the lock on (always, where the OS enforces it), the gate prompts first; with it off,
 * the session is restored at once.
 */
export async function openSession(): Promise<void> {
  if (!gate) return
  if (await biometricLockEnabled()) {
    gate.start()
    await gate.unlock()
  } else {
    await session.unlock()
  }
}
