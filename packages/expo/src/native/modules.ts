/*
 * The native modules, loaded here and in web-modules.ts only. Everything else takes them as
 * injected interfaces, so the logic runs under Node with fakes; these are what an Expo app gets.
 */
import AsyncStorageImport from '@react-native-async-storage/async-storage'
import NetInfo from '@react-native-community/netinfo'
import * as LocalAuthentication from 'expo-local-authentication'
import * as SecureStore from 'expo-secure-store'
import { AppState, Platform } from 'react-native'
import type { AsyncStorageLike } from '../storage/types.js'
import type { PlatformModules } from './platform.js'
import { createNativeDpopKeyStore } from '../dpop/native-key-store.js'

// The package ships CommonJS types; bundlers hand us the default export directly, TS sees a namespace.
const asyncStorageInterop = AsyncStorageImport as unknown as AsyncStorageLike & { default?: AsyncStorageLike }

/** iOS and Android (and the platform-neutral entry, which picks by `Platform.OS` at run time). */
export const nativeModules: Omit<PlatformModules, 'web'> = {
  os: () => Platform.OS,
  secureStore: SecureStore,
  localAuthentication: LocalAuthentication,
  asyncStorage: asyncStorageInterop.default ?? asyncStorageInterop,
  appState: AppState,
  netInfo: NetInfo,
  nativeDpopKeyStore: createNativeDpopKeyStore,
}
