/**
 * The parts of native modules this package uses, typed structurally so the logic runs under Node
 * with fakes. The real modules (expo-secure-store, AsyncStorage) satisfy these as they are.
 */

/** `SecureStoreOptions` of expo-secure-store, as far as we use it. */
export interface SecureStoreCallOptions {
  keychainService?: string
  /** `SecureStore.WHEN_UNLOCKED_THIS_DEVICE_ONLY` etc. (numbers on iOS). */
  keychainAccessible?: number
  requireAuthentication?: boolean
  authenticationPrompt?: string
}

/** The expo-secure-store module surface: `import * as SecureStore from 'expo-secure-store'`. */
export interface SecureStoreModule {
  getItemAsync(key: string, options?: SecureStoreCallOptions): Promise<string | null>
  setItemAsync(key: string, value: string, options?: SecureStoreCallOptions): Promise<void>
  deleteItemAsync(key: string, options?: SecureStoreCallOptions): Promise<void>
  WHEN_UNLOCKED_THIS_DEVICE_ONLY?: number
  /**
   * Whether `requireAuthentication` can be used here: biometrics enrolled and sufficiently secure
   * (iOS, Android; expo-secure-store >= 12). Absent (older module, web): treated as false.
   */
  canUseBiometricAuthentication?(): boolean
}

/** @react-native-async-storage/async-storage's default export, as far as we use it. */
export interface AsyncStorageLike {
  getItem(key: string): Promise<string | null>
  setItem(key: string, value: string): Promise<void>
  removeItem(key: string): Promise<void>
}
