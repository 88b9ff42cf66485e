/** Time as the engine sees it. `monotonic()` never jumps when the user changes the device clock. */
export interface Clock {
  /** Wall-clock milliseconds since the epoch (may jump). Used only to persist and restore. */
  now(): number
  /** Monotonic milliseconds (arbitrary origin). All expiry arithmetic happens here. */
  monotonic(): number
}

export type TimerHandle = unknown

export interface Timers {
  setTimeout(callback: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

export interface Logger {
  warn(message: string, meta?: Record<string, unknown>): void
  error(message: string, meta?: Record<string, unknown>): void
}

export type FetchLike = (input: Request | string | URL, init?: RequestInit) => Promise<Response>

export function systemClock(): Clock {
  const perf = (globalThis as { performance?: { now(): number } }).performance
  return {
    now: () => Date.now(),
    // Hermes, browsers and Node all ship performance.now(); Date.now is the last resort.
    monotonic: perf ? () => perf.now() : () => Date.now(),
  }
}

export function systemTimers(): Timers {
  return {
    setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
    clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  }
}

export function consoleLogger(): Logger {
  return {
    warn: (message, meta) => console.warn(`[latchkey] ${message}`, meta ?? ''),
    error: (message, meta) => console.error(`[latchkey] ${message}`, meta ?? ''),
  }
}

export const silentLogger: Logger = { warn() {}, error() {} }

export function globalFetch(): FetchLike {
  return (input, init) => globalThis.fetch(input, init)
}
