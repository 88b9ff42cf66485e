import { createSessionClient } from '@latchkey/core'
import { expoSessionOptions } from '@latchkey/expo'
import { QueryClient } from '@tanstack/react-query'
import { getRandomBytes } from 'expo-crypto'
import { Platform } from 'react-native'
import { apiUrl } from './config'

/**
 * DPoP (RFC 9449) wherever the platform can hold a key: always on native; on the web only in a
 * secure context (https, or localhost) with WebCrypto and IndexedDB. Without it the app signs in
 * with a bearer session, as a server without DPoP would give anyway.
 */
const canHoldDeviceKey =
  Platform.OS !== 'web' ||
  (globalThis.isSecureContext === true && typeof globalThis.crypto?.subtle !== 'undefined' && typeof globalThis.indexedDB !== 'undefined')

// One session client for the app: expo-secure-store on iOS/Android, an httpOnly refresh cookie
// and an in-memory access token on the web; tokens bound to a device key (DPoP) by default.
export const session = createSessionClient({
  ...expoSessionOptions({
    tokenEndpoint: `${apiUrl}/oauth/token`,
    revocationEndpoint: `${apiUrl}/oauth/revoke`,
    dpop: canHoldDeviceKey,
    // Hermes has no crypto.getRandomValues of its own.
    randomBytes: getRandomBytes,
    // Native: read nothing until the biometric preference is known (see biometric-setting.ts).
    startLocked: Platform.OS !== 'web',
  }),
})

export const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, staleTime: 30_000 } },
})

// Test hook for the browser end-to-end suite (e2e/): lets a test fire API calls from the page
// through the same client the app uses. It exposes nothing a script on the page could not
// already reach; the refresh token stays in an httpOnly cookie either way.
if (typeof window !== 'undefined') {
  ;(window as unknown as { __latchkeyExample?: unknown }).__latchkeyExample = { session, apiUrl }
}
