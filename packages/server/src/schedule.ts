/**
 * Runs `task` first after `firstSeconds`, then every `everySeconds`, never two runs at once (a
 * tick while one runs is skipped). The timers never keep the process alive. Returns `stop`, which
 * clears them and waits for a run in progress. `task` handles its own errors.
 */
export function scheduleRepeating(task: () => Promise<void>, o: { firstSeconds: number; everySeconds: number }): () => Promise<void> {
  let running: Promise<void> | undefined
  const run = () => {
    running ??= task().finally(() => {
      running = undefined
    })
  }
  const first = setTimeout(run, o.firstSeconds * 1000)
  const timer = setInterval(run, o.everySeconds * 1000)
  first.unref()
  timer.unref()
  return async () => {
    clearTimeout(first)
    clearInterval(timer)
    await running
  }
}
