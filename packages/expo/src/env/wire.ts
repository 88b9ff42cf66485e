import type { EnvironmentManager } from '@latchkey/core'

type Subscription = { remove(): void }

/** react-native's AppState, as far as we use it. */
export interface AppStateLike {
  currentState: string | null | undefined
  addEventListener(type: 'change', listener: (state: string) => void): Subscription
}

/** @react-native-community/netinfo's default export, as far as we use it. */
export interface NetInfoLike {
  addEventListener(listener: (state: { isConnected: boolean | null; isInternetReachable?: boolean | null }) => void): () => void
}

/**
 * AppState → foreground: 'active' is foreground, 'background' is not. iOS 'inactive' (app
 * switcher, Control Center, a Face ID prompt) keeps the previous value, so a biometric prompt
 * does not count as leaving the app. Like TanStack Query's focusManager setup for React Native.
 */
export function wireAppState(foreground: EnvironmentManager, appState: AppStateLike): void {
  foreground.setEventListener((set) => {
    if (appState.currentState === 'active') set(true)
    else if (appState.currentState === 'background') set(false)
    const subscription = appState.addEventListener('change', (state) => {
      if (state === 'active') set(true)
      else if (state === 'background') set(false)
    })
    return () => subscription.remove()
  })
}

/**
 * NetInfo → online. `isConnected: false` or `isInternetReachable: false` is offline; null
 * (not yet known) counts as online so the first refresh is not held back.
 */
export function wireNetInfo(online: EnvironmentManager, netInfo: NetInfoLike): void {
  online.setEventListener((set) =>
    netInfo.addEventListener((state) => set(state.isConnected !== false && state.isInternetReachable !== false)),
  )
}
