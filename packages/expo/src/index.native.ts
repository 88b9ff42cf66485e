// @latchkey/expo for iOS and Android (the `react-native` export condition, which Metro uses for
// native bundles): the same names as index.ts, without web mode. The web-only functions are
// stand-ins that throw (web-stubs.ts), so code that picks them on `Platform.OS === 'web'` still builds.
export * from './common.js'
import { createBindings } from './native/bindings.js'
import { nativeModules } from './native/modules.js'

export const {
  secureStoreStorage, expoSessionOptions, expoEnvironment, biometricGate, biometricLockPreference, nativeBiometricMode, migrateFromAsyncStorage, authRequestInit, accountApi, emailApi, nativeDpopKeyStore,
} = createBindings(nativeModules)

export { webSessionOptions, cookieDelivery, webStorage, insecureLocalStorage, containsSecret } from './native/web-stubs.js'
export { createNativeDpopKeyStore } from './dpop/native-key-store.js'
