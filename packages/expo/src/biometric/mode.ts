import type { SecureStoreModule } from '../storage/types.js'

/**
 * Which kind of biometric lock guards the session (OWASP MASVS-AUTH-2, MASVS-STORAGE-1).
 * - 'secureStore' (OS-enforced): the session's secure-store items are written with
 *   `requireAuthentication: true`; the Keychain/Keystore refuses the read until the OS prompt
 *   passes, so a hooked or patched JS callback cannot produce the tokens.
 * - 'localAuthentication' (event-based): expo-local-authentication prompts and the app reads the
 *   storage when it says yes. Anything that can make `authenticateAsync` answer success (a hook
 *   on a rooted/jailbroken device, Frida) unlocks without a prompt.
 */
export type BiometricMode =
  | { using: 'secureStore' }
  | {
      using: 'localAuthentication'
      /**
       * 'explicit': asked for; 'web': no secure store on the web; 'biometrics_unavailable':
       * expo-secure-store's `canUseBiometricAuthentication()` is false (no enrolled biometrics, or
       * too weak, or tvOS) or the module predates it.
       */
      reason: 'explicit' | 'web' | 'biometrics_unavailable'
    }

// One answer per module object for the process: the storage (written at sign-in) and the gate
// (reading at unlock) must agree, even if biometrics are enrolled while the app runs.
const resolved = new WeakMap<SecureStoreModule, BiometricMode>()

/** The OS-enforced mode where the device supports it, else the event-based mode and why. */
export function resolveBiometricMode(input: { platform: string; secureStore?: SecureStoreModule | undefined }): BiometricMode {
  if (input.platform === 'web') return { using: 'localAuthentication', reason: 'web' }
  const store = input.secureStore
  if (!store) return { using: 'localAuthentication', reason: 'biometrics_unavailable' }
  let mode = resolved.get(store)
  if (!mode) {
    let ok: boolean
    try {
      ok = store.canUseBiometricAuthentication?.() === true
    } catch {
      ok = false
    }
    mode = ok ? { using: 'secureStore' } : { using: 'localAuthentication', reason: 'biometrics_unavailable' }
    resolved.set(store, mode)
  }
  return mode
}
