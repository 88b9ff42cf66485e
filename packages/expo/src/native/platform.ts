import type { DpopKeyStore, SessionClientOptions } from '@latchkey/core'
import type { NativeDpopKeyStoreOptions } from '../dpop/native-key-store.js'
import type { LocalAuthenticationModule } from '../biometric/types.js'
import type { AppStateLike, NetInfoLike } from '../env/wire.js'
import type { AsyncStorageLike, SecureStoreModule } from '../storage/types.js'
import type { ExpoSessionOptions } from './bindings.js'

export type PlatformSessionOptions = Partial<SessionClientOptions> & Pick<SessionClientOptions, 'refresh'>

/**
 * What the bindings take from the platform. Each entry of the package (`index.native.ts` for the
 * `react-native` export condition, `index.web.ts` for `browser`, `index.ts` for anything else)
 * hands `createBindings` its own, so a bundle for one platform carries nothing of the other.
 */
export interface PlatformModules {
  os(): string
  secureStore: SecureStoreModule
  localAuthentication: LocalAuthenticationModule
  asyncStorage: AsyncStorageLike
  appState: AppStateLike
  netInfo: NetInfoLike
  /** The native DPoP key store (P-256 via @noble/curves); absent from the web build. */
  nativeDpopKeyStore?: (options: NativeDpopKeyStoreOptions) => DpopKeyStore
  /** Web mode (`expoSessionOptions` and `authRequestInit` on the web); absent from the native build. */
  web?: {
    sessionOptions(options: ExpoSessionOptions): PlatformSessionOptions
    requestInit(init: RequestInit): RequestInit
  }
}
