import type { AppStateLike, NetInfoLike } from '../env/wire.js'

/** react-native's AppState and NetInfo, driven by hand. */
export function fakeAppState(initial = 'active') {
  const listeners = new Set<(s: string) => void>()
  const appState: AppStateLike & { emit(s: string): void; listeners: number } = {
    currentState: initial,
    addEventListener(_type, listener) {
      listeners.add(listener)
      return { remove: () => void listeners.delete(listener) }
    },
    emit(state: string) {
      appState.currentState = state
      for (const l of [...listeners]) l(state)
    },
    get listeners() {
      return listeners.size
    },
  }
  return appState
}

export function fakeNetInfo() {
  const listeners = new Set<Parameters<NetInfoLike['addEventListener']>[0]>()
  return {
    addEventListener(listener: Parameters<NetInfoLike['addEventListener']>[0]) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    emit(state: { isConnected: boolean | null; isInternetReachable?: boolean | null }) {
      for (const l of [...listeners]) l(state)
    },
    get listeners() {
      return listeners.size
    },
  }
}

