import type { LocalAuthenticationModule } from '../biometric/types.js'

type Answer = { success: true } | { success: false; error: string }

/** expo-local-authentication with scripted answers and a record of the options it was called with. */
export function createFakeLocalAuthentication(init: { hardware?: boolean; enrolled?: boolean } = {}) {
  let hardware = init.hardware ?? true
  let enrolled = init.enrolled ?? true
  const answers: Answer[] = []
  const prompts: Array<Parameters<LocalAuthenticationModule['authenticateAsync']>[0]> = []
  const module: LocalAuthenticationModule = {
    hasHardwareAsync: async () => hardware,
    isEnrolledAsync: async () => enrolled,
    async authenticateAsync(options) {
      prompts.push(options)
      if (!hardware && options?.disableDeviceFallback) return { success: false, error: 'not_available' }
      return answers.shift() ?? { success: true }
    },
  }
  return {
    module,
    prompts,
    /** The next prompt's answer: 'success' or an expo-local-authentication error string. */
    answer(...next: Array<'success' | string>) {
      for (const a of next) answers.push(a === 'success' ? { success: true } : { success: false, error: a })
    },
    set(state: { hardware?: boolean; enrolled?: boolean }) {
      hardware = state.hardware ?? hardware
      enrolled = state.enrolled ?? enrolled
    },
  }
}
