import { DEFAULT_STORAGE_KEY, broadcastSync, sessionStorageKeys, webLocks } from '@latchkey/core'
import { dpopOption } from '../dpop/option.js'
import { createWebDpopKeyStore } from '../dpop/web-key-store.js'
import type { ExpoSessionOptions } from '../native/bindings.js'
import { sessionEndpoints } from '../native/endpoints.js'
import type { PlatformModules, PlatformSessionOptions } from '../native/platform.js'
import { cookieDelivery, webSessionOptions } from './web-mode.js'
import { insecureLocalStorage } from './web-storage.js'

/** `expoSessionOptions` on the web: cookie mode by default, `insecureLocalStorage` when asked. */
function expoWebSessionOptions(options: ExpoSessionOptions): PlatformSessionOptions {
  const storageKey = options.storageKey ?? DEFAULT_STORAGE_KEY
  const startLocked = options.startLocked ? { startLocked: true } : {}
  const dpop = dpopOption(options.dpop, () => createWebDpopKeyStore({ key: sessionStorageKeys(storageKey).dpop }))
  if (options.web !== 'insecureLocalStorage') return { storageKey, ...startLocked, ...webSessionOptions(options), ...dpop }
  return { storageKey, ...startLocked, storage: insecureLocalStorage(), ...sessionEndpoints(options), lock: webLocks(), sync: broadcastSync(), ...dpop }
}

export const webMode: NonNullable<PlatformModules['web']> = { sessionOptions: expoWebSessionOptions, requestInit: cookieDelivery }
