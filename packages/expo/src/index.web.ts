// @latchkey/expo for the web (the `browser` export condition, which Metro uses for web bundles):
// the same names as index.ts, without expo-secure-store or expo-local-authentication (on the web
// they have no implementation; web-modules.ts stands in for them as they behave there).
export * from './common.js'
import { createBindings } from './native/bindings.js'
import { webModules } from './native/web-modules.js'
import { webMode } from './web/expo-web-options.js'

export const {
  secureStoreStorage, expoSessionOptions, expoEnvironment, biometricGate, biometricLockPreference, nativeBiometricMode, migrateFromAsyncStorage, authRequestInit, accountApi, emailApi, nativeDpopKeyStore,
} = createBindings({ ...webModules, web: webMode })

export { webSessionOptions, cookieDelivery } from './web/web-mode.js'
export { webStorage, insecureLocalStorage, containsSecret } from './web/web-storage.js'
export { createNativeDpopKeyStore } from './native/web-stubs.js'
