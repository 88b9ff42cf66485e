import type { SessionStorage } from '@latchkey/core'
import type { WebSessionOptions } from '../web/web-mode.js'

// The web-only functions in the react-native build: same signatures, no web code. Reaching one on
// iOS or Android is a mistake in the app; say so instead of acting as if on the web.
const webOnly = (name: string): never => {
  throw new Error(`@latchkey/expo: ${name}() is for the web; this is the iOS/Android build (the 'react-native' export condition)`)
}

export const webSessionOptions = (_options: WebSessionOptions): ReturnType<typeof import('../web/web-mode.js').webSessionOptions> => webOnly('webSessionOptions')
export const cookieDelivery = (_init?: RequestInit): RequestInit => webOnly('cookieDelivery')
export const webStorage = (_options?: object): SessionStorage => webOnly('webStorage')
export const insecureLocalStorage = (_options?: object): SessionStorage => webOnly('insecureLocalStorage')
export const containsSecret = (_raw: string): boolean => webOnly('containsSecret')

// The native-only DPoP key store in the web build (it would carry @noble/curves for nothing).
export const createNativeDpopKeyStore = (_options: import('../dpop/native-key-store.js').NativeDpopKeyStoreOptions): import('@latchkey/core').DpopKeyStore => {
  throw new Error("@latchkey/expo: createNativeDpopKeyStore() is for iOS and Android; this is the web build (the 'browser' export condition)")
}
