// The platform-neutral part of @latchkey/expo's public surface, listed by name. The entries
// (index.ts, index.native.ts, index.web.ts) add the defaults on each platform's modules and web mode.

// Secure storage on an injected module.
export { createSecureStoreStorage, assertSecureStoreKey, type SecureStoreStorageOptions } from './storage/secure-store-storage.js'
export { SecureStoreError, classifySecureStoreError, type SecureStoreErrorCode, type SecureStoreFailureKind } from './storage/errors.js'
export { isLatchkeyExpoError, type LatchkeyExpoError, type LatchkeyExpoErrorCode } from './errors.js'
export { clearSecureItemsOnReinstall, withReinstallCheck, type ReinstallOptions, type ReinstallCheck } from './storage/reinstall.js'
export type { SecureStoreModule, SecureStoreCallOptions, AsyncStorageLike } from './storage/types.js'

export type { WebSessionOptions } from './web/web-mode.js'
export type { WebStorageLike } from './web/web-storage.js'
export type { ExpoSessionOptions } from './native/bindings.js'
export { TOKEN_DELIVERY_HEADER } from './web/token-delivery-header.js'

// Biometric gate, migration, environment.
export {
  createBiometricGate, type BiometricGate, type BiometricGateOptions, type UnlockResult, type NotEnrolledPolicy,
} from './biometric/biometric-gate.js'
export type { LocalAuthenticationModule } from './biometric/types.js'
export { resolveBiometricMode, type BiometricMode } from './biometric/mode.js'
export { createLockPreference, type LockPreference, type LockPreferenceOptions } from './biometric/lock-preference.js'
export { runAsyncStorageMigration, type MigrationOptions, type MigrationResult, type MigrationStep } from './migration/migrate.js'
export { wireAppState, wireNetInfo, type AppStateLike, type NetInfoLike } from './env/wire.js'

// DPoP device keys (RFC 9449): one per session. The native store (P-256 via @noble/curves) is
// exported by index.ts and index.native.ts only; the web one needs only WebCrypto and IndexedDB.
export { createWebDpopKeyStore, type WebDpopKeyStoreOptions } from './dpop/web-key-store.js'
export type { NativeDpopKeyStoreOptions } from './dpop/native-key-store.js'

// React and Expo Router.
export { SessionProvider, useSessionClient, type SessionProviderProps } from './react/context.js'
export { useSession, type UseSession } from './react/use-session.js'
export { useAuthFetch } from './react/use-auth-fetch.js'
export { SessionGuard, useSessionGuard, guardStatus, type GuardStatus, type SessionGuardProps } from './react/session-guard.js'
export { registerQueryClient, useQueryClientCleanup, type QueryClientLike } from './react/query-client.js'

// Sign-in with an identity provider's ID token (Apple, Google, OpenID Connect); native SDKs injected.
export {
  createRawNonce, sha256Hex, postIdToken, signInWithApple, signInWithIdProvider, IdpSignInError,
  type AppleAuthenticationModule, type IdpSignInOptions, type IdpSignInResult,
} from './identity/idp-sign-in.js'
