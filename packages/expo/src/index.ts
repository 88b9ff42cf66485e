// The public surface of @latchkey/expo, listed by name: the entry for anything that is neither a
// React Native nor a browser bundle (Node, tests, server rendering). It carries native and web
// mode and picks by `Platform.OS` at run time; index.native.ts and index.web.ts (the
// `react-native` and `browser` export conditions) export the same names with one platform each.
export * from './common.js'
import { createBindings } from './native/bindings.js'
import { nativeModules } from './native/modules.js'
import { webMode } from './web/expo-web-options.js'

// Defaults on the real native modules (expo-secure-store, expo-local-authentication, AsyncStorage, AppState, NetInfo).
export const {
  secureStoreStorage, expoSessionOptions, expoEnvironment, biometricGate, biometricLockPreference, nativeBiometricMode, migrateFromAsyncStorage, authRequestInit, accountApi, emailApi, nativeDpopKeyStore,
} = createBindings({ ...nativeModules, web: webMode })

// Web.
export { webSessionOptions, cookieDelivery } from './web/web-mode.js'
export { webStorage, insecureLocalStorage, containsSecret } from './web/web-storage.js'
export { createNativeDpopKeyStore } from './dpop/native-key-store.js'
