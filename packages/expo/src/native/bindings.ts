import {
  DEFAULT_STORAGE_KEY, createAccountApi, createEmailApi, createForegroundManager, sessionStorageKeys, createOnlineManager,
  type AccountApi, type AccountApiOptions, type EmailApi, type EmailApiOptions, type DpopKeyStore, type ForegroundManager, type OnlineManager, type SessionStorage,
} from '@latchkey/core'
import { createBiometricGate, type BiometricGate, type BiometricGateOptions } from '../biometric/biometric-gate.js'
import { createLockPreference, type LockPreference, type LockPreferenceOptions } from '../biometric/lock-preference.js'
import { resolveBiometricMode, type BiometricMode } from '../biometric/mode.js'
import type { LocalAuthenticationModule } from '../biometric/types.js'
import { wireAppState, wireNetInfo } from '../env/wire.js'
import { runAsyncStorageMigration, type MigrationOptions, type MigrationResult } from '../migration/migrate.js'
import { withReinstallCheck } from '../storage/reinstall.js'
import { createSecureStoreStorage, type SecureStoreStorageOptions } from '../storage/secure-store-storage.js'
import type { AsyncStorageLike, SecureStoreModule } from '../storage/types.js'
import type { NativeDpopKeyStoreOptions } from '../dpop/native-key-store.js'
import { dpopOption } from '../dpop/option.js'
import { sessionEndpoints } from './endpoints.js'
import type { PlatformModules, PlatformSessionOptions } from './platform.js'

export interface ExpoSessionOptions {
  tokenEndpoint: string
  /**
   * RFC 7009 revocation endpoint, called on sign-out so the refresh token dies at the server too.
   * Default: beside the token endpoint (`…/oauth/token` → `…/oauth/revoke`, else
   * `<origin>/oauth/revoke`). `false`: the server has no revocation endpoint; sign-out is then
   * local only and the refresh token lives on at the server until it expires.
   */
  revocationEndpoint?: string | false
  /** Origins that get the access token from `client.fetch` / axios (default: the token endpoint's). */
  tokenOrigins?: string[]
  clientId?: string
  /**
   * RFC 8707: the API (resource server) this session's access tokens are for, sent with every
   * refresh (`oauth2Refresh`'s `resource`); send the same value as `resource` in your sign-in and
   * sign-up bodies. Unset: tokens for the auth server itself. For an app that calls several APIs,
   * see `@latchkey/core`'s README, *Several APIs* (one session per API, each its own `storageKey`).
   */
  resource?: string
  /** Default `latchkey.session`. */
  storageKey?: string
  /**
   * Web only. 'cookie' (default, the Latchkey server): refresh token in an httpOnly cookie, access
   * token in memory. 'insecureLocalStorage': for servers without cookie delivery; the pair sits in
   * localStorage where any script on the page can read it.
   */
  web?: 'cookie' | 'insecureLocalStorage'
  /**
   * Start `locked` for a biometric gate: nothing is read until it unlocks. On iOS/Android this
   * also writes the session with `requireAuthentication: true` where
   * `SecureStore.canUseBiometricAuthentication()` is true (the OS-enforced lock, which
   * `biometricGate()`'s default 'auto' mode expects); set `secureStore.requireAuthentication`
   * to choose yourself (then pass the gate the matching `using`).
   */
  startLocked?: boolean
  secureStore?: Omit<SecureStoreStorageOptions, 'secureStore'>
  /** iOS: clear Keychain items left by a previous install on first launch (default true). */
  clearOnReinstall?: boolean
  /**
   * DPoP (RFC 9449): a device key per session, generated on sign-in, deleted on sign-out. `true`:
   * the platform's store (native: P-256 via @noble/curves, the private key in the secure store
   * beside the session; web: a non-extractable WebCrypto key in IndexedDB). Or your own store.
   * Sign in through `client.signInFetch` so the sign-in request carries the proof.
   */
  dpop?: boolean | DpopKeyStore
  /** Native DPoP: secure random bytes where Hermes has no `crypto.getRandomValues` (expo-crypto's `getRandomBytes`). */
  randomBytes?: NativeDpopKeyStoreOptions['randomBytes']
}

/** The defaults on the platform's modules; each entry of the package calls this once with its own. */
export function createBindings(p: PlatformModules) {
  /** `createSecureStoreStorage` on the real expo-secure-store module. */
  function secureStoreStorage(options: Omit<SecureStoreStorageOptions, 'secureStore'> & { secureStore?: SecureStoreModule } = {}): SessionStorage {
    return createSecureStoreStorage({ ...options, secureStore: options.secureStore ?? p.secureStore })
  }

  /** Foreground and online managers wired to AppState and NetInfo (like TanStack Query's React Native setup). */
  function expoEnvironment(): { foreground: ForegroundManager; online: OnlineManager } {
    const foreground = createForegroundManager({ web: false })
    const online = createOnlineManager({ web: false })
    wireAppState(foreground, p.appState)
    wireNetInfo(online, p.netInfo)
    return { foreground, online }
  }

  /** The biometric mode this device gets by default: what `expoSessionOptions({ startLocked: true })` and `biometricGate()` use. */
  function nativeBiometricMode(): BiometricMode {
    return resolveBiometricMode({ platform: p.os(), secureStore: p.secureStore })
  }

  /**
   * Everything `createSessionClient` needs from the platform, native or web:
   * `createSessionClient({ ...expoSessionOptions({ tokenEndpoint }) })`.
   */
  function expoSessionOptions(options: ExpoSessionOptions): PlatformSessionOptions {
    const os = p.os()
    if (os === 'web') {
      if (!p.web) throw new Error("@latchkey/expo: this build has no web mode (it was resolved with the 'react-native' condition)")
      return p.web.sessionOptions(options)
    }
    const storageKey = options.storageKey ?? DEFAULT_STORAGE_KEY
    const startLocked = options.startLocked ? { startLocked: true } : {}
    const secureStoreOptions = { ...options.secureStore }
    if (options.startLocked && secureStoreOptions.requireAuthentication === undefined) {
      // OWASP MASVS-AUTH-2: the OS, not a JS callback, decides whether the tokens can be read.
      secureStoreOptions.requireAuthentication = nativeBiometricMode().using === 'secureStore'
    }
    let storage = secureStoreStorage(secureStoreOptions)
    if (os === 'ios' && options.clearOnReinstall !== false) {
      storage = withReinstallCheck(storage, { asyncStorage: p.asyncStorage, keys: Object.values(sessionStorageKeys(storageKey)) })
    }
    // The device key is useless without the tokens it binds, which the biometric lock guards: it is
    // kept without requireAuthentication, so using it never costs a second OS prompt.
    const keyStorage = secureStoreOptions.requireAuthentication ? secureStoreStorage({ ...secureStoreOptions, requireAuthentication: false }) : storage
    const dpop = dpopOption(options.dpop, () => nativeDpopKeyStore({
      storage: keyStorage, key: sessionStorageKeys(storageKey).dpop, ...(options.randomBytes ? { randomBytes: options.randomBytes } : {}),
    }))
    return { storageKey, ...startLocked, storage, ...expoEnvironment(), ...sessionEndpoints(options), ...dpop }
  }

  /** The native DPoP key store (P-256 via @noble/curves) in the real expo-secure-store; iOS and Android only. */
  function nativeDpopKeyStore(options: Partial<NativeDpopKeyStoreOptions> & { secureStore?: Omit<SecureStoreStorageOptions, 'secureStore'> } = {}): DpopKeyStore {
    if (!p.nativeDpopKeyStore) throw new Error("@latchkey/expo: nativeDpopKeyStore() is for iOS and Android; this is the web build (the 'browser' export condition)")
    return p.nativeDpopKeyStore({ ...options, storage: options.storage ?? secureStoreStorage(options.secureStore ?? {}) })
  }

  /**
   * `createBiometricGate` with expo-local-authentication, expo-secure-store (for the default 'auto'
   * mode: OS-enforced where available) and an AppState-driven foreground signal by default.
   */
  function biometricGate(options: Omit<BiometricGateOptions, 'localAuthentication'> & { localAuthentication?: LocalAuthenticationModule }): BiometricGate {
    let foreground = options.foreground
    if (!foreground) {
      foreground = createForegroundManager({ web: false })
      wireAppState(foreground, p.appState)
    }
    return createBiometricGate({
      secureStore: p.secureStore, platform: p.os(), ...options, foreground,
      localAuthentication: options.localAuthentication ?? p.localAuthentication,
    })
  }

  /** `createLockPreference` on the real expo-secure-store: the "lock with biometrics" choice, kept in the secure store. */
  function biometricLockPreference(options: Omit<LockPreferenceOptions, 'secureStore'> & { secureStore?: SecureStoreModule } = {}): LockPreference {
    return createLockPreference({ ...options, secureStore: options.secureStore ?? p.secureStore })
  }

  /** `runAsyncStorageMigration` with AsyncStorage and the secure store by default. Never throws. */
  function migrateFromAsyncStorage(
    options: Omit<MigrationOptions, 'asyncStorage' | 'storage'> & { asyncStorage?: AsyncStorageLike; storage?: SessionStorage },
  ): Promise<MigrationResult> {
    return runAsyncStorageMigration({
      ...options,
      asyncStorage: options.asyncStorage ?? p.asyncStorage,
      storage: options.storage ?? secureStoreStorage(),
    })
  }

  /**
   * Options for the app's own sign-in, sign-up and sign-out requests: on the web, cookie delivery
   * (`X-Latchkey-Token-Delivery: cookie`, `credentials: 'include'`); on native, unchanged (the
   * refresh token comes back in the body and goes to the secure store).
   */
  function authRequestInit(init: RequestInit = {}): RequestInit {
    return p.os() === 'web' && p.web ? p.web.requestInit(init) : init
  }

  /**
   * `createAccountApi` (change the password, delete the account) with this platform's request
   * options: on the web, cookie delivery, so a call that ends the session clears the refresh cookie.
   */
  function accountApi(options: Omit<AccountApiOptions, 'requestInit'>): AccountApi {
    return createAccountApi({ ...options, requestInit: authRequestInit })
  }

  /**
   * `createEmailApi` (password reset by code, email verification) with this platform's request
   * options, like `accountApi`.
   */
  function emailApi(options: Omit<EmailApiOptions, 'requestInit'>): EmailApi {
    return createEmailApi({ ...options, requestInit: authRequestInit })
  }

  return { secureStoreStorage, expoEnvironment, expoSessionOptions, biometricGate, biometricLockPreference, nativeBiometricMode, migrateFromAsyncStorage, authRequestInit, accountApi, emailApi, nativeDpopKeyStore }
}
