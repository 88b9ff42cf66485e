/** The expo-local-authentication surface the gate uses (`import * as LocalAuthentication from 'expo-local-authentication'`). */
export interface LocalAuthenticationModule {
  hasHardwareAsync(): Promise<boolean>
  isEnrolledAsync(): Promise<boolean>
  authenticateAsync(options?: {
    promptMessage?: string
    cancelLabel?: string
    fallbackLabel?: string
    disableDeviceFallback?: boolean
    requireConfirmation?: boolean
  }): Promise<{ success: true } | { success: false; error: string; warning?: string }>
}
