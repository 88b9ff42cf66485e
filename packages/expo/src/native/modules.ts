/*
 * The only files that load native modules. Everything else takes them as injected interfaces,
 * so the logic runs under Node with fakes; these defaults are what an Expo app gets.
 */
import AsyncStorageImport from '@react-native-async-storage/async-storage'
import NetInfo from '@react-native-community/netinfo'
import * as LocalAuthentication from 'expo-local-authentication'
import * as SecureStore from 'expo-secure-store'
import { AppState, Platform } from 'react-native'
import type { LocalAuthenticationModule } from '../biometric/types.js'
import type { AppStateLike, NetInfoLike } from '../env/wire.js'
import type { AsyncStorageLike, SecureStoreModule } from '../storage/types.js'

export const nativeSecureStore: SecureStoreModule = SecureStore
export const nativeLocalAuthentication: LocalAuthenticationModule = LocalAuthentication
// The package ships CommonJS types; bundlers hand us the default export directly, TS sees a namespace.
const asyncStorageInterop = AsyncStorageImport as unknown as AsyncStorageLike & { default?: AsyncStorageLike }
export const nativeAsyncStorage: AsyncStorageLike = asyncStorageInterop.default ?? asyncStorageInterop
export const nativeAppState: AppStateLike = AppState
export const nativeNetInfo: NetInfoLike = NetInfo
export const platformOS = (): string => Platform.OS
