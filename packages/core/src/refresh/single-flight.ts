/**
 * At most one run of a task at a time; callers that arrive while it runs share its promise.
 * The slot is released when the run settles, whatever the outcome, so the next need starts anew.
 */
export function createSingleFlight<T>() {
  let current: Promise<T> | null = null
  return {
    run(task: () => Promise<T>): Promise<T> {
      if (current) return current
      // Deferring the task by a microtask guarantees `current` is set before it can settle.
      const flight: Promise<T> = Promise.resolve()
        .then(task)
        .finally(() => {
          if (current === flight) current = null
        })
      current = flight
      return flight
    },
    get active() {
      return current !== null
    },
  }
}
