export interface BackoffOptions {
  /** First retry delay in ms (default 1 000). */
  baseMs?: number
  /** Cap in ms (default 60 000). */
  maxMs?: number
}

/** The longest delay before retry `attempt` (1-based): capped exponential. */
export function backoffCeiling(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 1_000
  const max = options.maxMs ?? 60_000
  return Math.min(max, base * 2 ** Math.max(0, attempt - 1))
}

/** Capped exponential backoff with "equal jitter": half fixed, half random, so clients spread out. */
export function backoffDelay(attempt: number, random: () => number, options: BackoffOptions = {}): number {
  const ceiling = backoffCeiling(attempt, options)
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}
