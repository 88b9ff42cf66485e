type Listener = (value: boolean) => void
type Setup = (set: (value: boolean) => void) => (() => void) | void

/**
 * A boolean signal from the environment (foreground, online) whose source is replaceable,
 * after TanStack Query's focusManager/onlineManager. Nothing starts until someone subscribes.
 */
export interface EnvironmentManager {
  /** Replace the event source; `setup` receives a setter and returns its cleanup. */
  setEventListener(setup: Setup): void
  subscribe(listener: Listener): () => void
  get(): boolean
  set(value: boolean): void
}

function createManager(defaultSetup: Setup | undefined): EnvironmentManager {
  const listeners = new Set<Listener>()
  let value = true
  let setup: Setup | undefined = defaultSetup
  let cleanup: (() => void) | void = undefined

  const set = (next: boolean) => {
    if (next === value) return
    value = next
    for (const listener of [...listeners]) listener(next)
  }
  const start = () => {
    if (setup) cleanup = setup(set)
  }
  const stop = () => {
    cleanup?.()
    cleanup = undefined
  }

  return {
    setEventListener(next) {
      stop()
      setup = next
      if (listeners.size > 0) start()
    },
    subscribe(listener) {
      listeners.add(listener)
      if (listeners.size === 1) start()
      return () => {
        listeners.delete(listener)
        if (listeners.size === 0) stop()
      }
    },
    get: () => value,
    set,
  }
}

export interface ForegroundManager extends EnvironmentManager {
  isForeground(): boolean
  setForeground(foreground: boolean): void
}

export interface OnlineManager extends EnvironmentManager {
  isOnline(): boolean
  setOnline(online: boolean): void
}

interface WebDocument {
  visibilityState?: string
  addEventListener(type: string, fn: () => void): void
  removeEventListener(type: string, fn: () => void): void
}
interface WebWindow {
  addEventListener(type: string, fn: () => void): void
  removeEventListener(type: string, fn: () => void): void
}

const webVisibility: Setup = (set) => {
  const doc = (globalThis as { document?: WebDocument }).document
  if (!doc || typeof doc.addEventListener !== 'function') return
  const onChange = () => set(doc.visibilityState !== 'hidden')
  onChange()
  doc.addEventListener('visibilitychange', onChange)
  return () => doc.removeEventListener('visibilitychange', onChange)
}

const webConnectivity: Setup = (set) => {
  const win = (globalThis as { window?: WebWindow }).window
  if (!win || typeof win.addEventListener !== 'function') return
  const nav = (globalThis as { navigator?: { onLine?: boolean } }).navigator
  if (typeof nav?.onLine === 'boolean') set(nav.onLine)
  const online = () => set(true)
  const offline = () => set(false)
  win.addEventListener('online', online)
  win.addEventListener('offline', offline)
  return () => {
    win.removeEventListener('online', online)
    win.removeEventListener('offline', offline)
  }
}

/** Foreground signal; on the web it follows `document.visibilitychange` once subscribed. */
export function createForegroundManager(options: { web?: boolean } = {}): ForegroundManager {
  const manager = createManager(options.web === false ? undefined : webVisibility)
  return { ...manager, isForeground: manager.get, setForeground: manager.set }
}

/** Connectivity signal; on the web it follows `window` online/offline once subscribed. */
export function createOnlineManager(options: { web?: boolean } = {}): OnlineManager {
  const manager = createManager(options.web === false ? undefined : webConnectivity)
  return { ...manager, isOnline: manager.get, setOnline: manager.set }
}
