// The public surface of @latchkey/expo, listed by name.

// Defaults on the real native modules (expo-secure-store, expo-local-authentication, AsyncStorage, AppState, NetInfo).
export {
  secureStoreStorage, expoSessionOptions, expoEnvironment, biometricGate, biometricLockPreference, nativeBiometricMode, migrateFromAsyncStorage, authRequestInit, nativeDpopKeyStore,
  type ExpoSessionOptions,
} from './native/bindings.js'

// Secure storage on an injected module.
export { createSecureStoreStorage, assertSecureStoreKey, type SecureStoreStorageOptions } from './storage/secure-store-storage.js'
export { SecureStoreError, classifySecureStoreError, type SecureStoreErrorCode, type SecureStoreFailureKind } from './storage/errors.js'
export { isLatchkeyExpoError, type LatchkeyExpoError, type LatchkeyExpoErrorCode } from './errors.js'
export { clearSecureItemsOnReinstall, withReinstallCheck, type ReinstallOptions, type ReinstallCheck } from './storage/reinstall.js'
export type { SecureStoreModule, SecureStoreCallOptions, AsyncStorageLike } from './storage/types.js'

// DPoP device keys (RFC 9449): one per session.
export { createNativeDpopKeyStore, type NativeDpopKeyStoreOptions } from './dpop/native-key-store.js'
export { createWebDpopKeyStore, type WebDpopKeyStoreOptions } from './dpop/web-key-store.js'

// Web.
export { webSessionOptions, cookieDelivery, TOKEN_DELIVERY_HEADER, type WebSessionOptions } from './web/web-mode.js'
export { webStorage, insecureLocalStorage, containsSecret, type WebStorageLike } from './web/web-storage.js'

// Biometric gate, migration, environment.
export {
  createBiometricGate, type BiometricGate, type BiometricGateOptions, type UnlockResult, type NotEnrolledPolicy,
} from './biometric/biometric-gate.js'
export type { LocalAuthenticationModule } from './biometric/types.js'
export { resolveBiometricMode, type BiometricMode } from './biometric/mode.js'
export { createLockPreference, type LockPreference, type LockPreferenceOptions } from './biometric/lock-preference.js'
export { runAsyncStorageMigration, type MigrationOptions, type MigrationResult, type MigrationStep } from './migration/migrate.js'
export { wireAppState, wireNetInfo, type AppStateLike, type NetInfoLike } from './env/wire.js'

// React and Expo Router.
export { SessionProvider, useSessionClient, type SessionProviderProps } from './react/context.js'
export { useSession, type UseSession } from './react/use-session.js'
export { useAuthFetch } from './react/use-auth-fetch.js'
export { SessionGuard, useSessionGuard, guardStatus, type GuardStatus, type SessionGuardProps } from './react/session-guard.js'
export { registerQueryClient, useQueryClientCleanup, type QueryClientLike } from './react/query-client.js'
