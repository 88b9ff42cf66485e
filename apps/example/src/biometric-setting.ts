import AsyncStorage from '@react-native-async-storage/async-storage'
import { biometricGate } from '@latchkey/expo'
import * as LocalAuthentication from 'expo-local-authentication'
import { Platform } from 'react-native'
import { session } from './session'

// The app's own preference (not a secret): whether the session sits behind Face ID / fingerprint.
const PREFERENCE_KEY = 'latchkey-example.biometric-lock'

export const gate = Platform.OS === 'web' ? null : biometricGate({ client: session, relockAfterMs: 60_000, policyWhenNotEnrolled: 'passcode' })

export async function biometricsAvailable(): Promise<boolean> {
  if (Platform.OS === 'web') return false
  try {
    return (await LocalAuthentication.hasHardwareAsync()) && (await LocalAuthentication.isEnrolledAsync())
  } catch {
    return false
  }
}

export async function biometricLockEnabled(): Promise<boolean> {
  if (Platform.OS === 'web') return false
  return (await AsyncStorage.getItem(PREFERENCE_KEY)) === 'on'
}

export async function setBiometricLock(on: boolean): Promise<void> {
  await AsyncStorage.setItem(PREFERENCE_KEY, on ? 'on' : 'off')
}

/**
 * On iOS/Android the client starts locked, so nothing is read from the secure store before this
 * runs: with the lock on, the gate prompts first; with it off, the session is restored at once.
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
