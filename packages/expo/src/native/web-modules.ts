/*
 * The web build's modules: no expo-secure-store or expo-local-authentication code (on the web
 * they have no implementation: every secure-store call fails, and there is no biometric
 * hardware). These stand-ins behave as those modules do there, so the web bundle leaves them out.
 */
import AsyncStorageImport from '@react-native-async-storage/async-storage'
import NetInfo from '@react-native-community/netinfo'
import { AppState } from 'react-native'
import type { LocalAuthenticationModule } from '../biometric/types.js'
import type { AsyncStorageLike, SecureStoreModule } from '../storage/types.js'
import type { PlatformModules } from './platform.js'

const unavailable = (method: string) => () => Promise.reject(new Error(`expo-secure-store's ${method} is not available on the web`))

/** expo-secure-store on the web: no storage (and no `canUseBiometricAuthentication`, read as false). */
export const webSecureStore: SecureStoreModule = {
  getItemAsync: unavailable('getItemAsync'),
  setItemAsync: unavailable('setItemAsync'),
  deleteItemAsync: unavailable('deleteItemAsync'),
}

/** expo-local-authentication on the web: no hardware, nothing enrolled, no prompt. */
export const webLocalAuthentication: LocalAuthenticationModule = {
  hasHardwareAsync: async () => false,
  isEnrolledAsync: async () => false,
  authenticateAsync: async () => ({ success: false, error: 'not_available' }),
}

const asyncStorageInterop = AsyncStorageImport as unknown as AsyncStorageLike & { default?: AsyncStorageLike }

export const webModules: Omit<PlatformModules, 'web'> = {
  os: () => 'web',
  secureStore: webSecureStore,
  localAuthentication: webLocalAuthentication,
  asyncStorage: asyncStorageInterop.default ?? asyncStorageInterop,
  appState: AppState,
  netInfo: NetInfo,
}
