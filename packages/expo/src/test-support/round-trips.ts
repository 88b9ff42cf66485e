/**
 * A `delay` for the fake secure store that holds every native call until the test releases it,
 * so an operation's sequential round trips are counted, never timed: each wave is the set of
 * calls in flight together, released at once once nothing else can run.
 */
export function createRoundTripGate() {
  let held: (() => void)[] = []
  let maxInFlight = 0
  const idle = () => new Promise<void>((resolve) => setImmediate(resolve))

  return {
    delay: (): Promise<void> =>
      new Promise<void>((resolve) => {
        held.push(resolve)
        maxInFlight = Math.max(maxInFlight, held.length)
      }),
    /** Drives `operation` to its end wave by wave; its outcome, the number of waves, the most calls in flight at once. */
    async run<T>(operation: Promise<T>): Promise<{ outcome: PromiseSettledResult<T>; roundTrips: number; maxInFlight: number }> {
      maxInFlight = 0
      let outcome: PromiseSettledResult<T> | null = null
      operation.then((value) => (outcome = { status: 'fulfilled', value }), (reason: unknown) => (outcome = { status: 'rejected', reason }))
      let roundTrips = 0
      for (;;) {
        await idle() // every microtask the operation can run has run
        if (held.length === 0) {
          if (outcome) return { outcome, roundTrips, maxInFlight }
          throw new Error('the operation is stuck with no native call in flight')
        }
        roundTrips++
        const wave = held
        held = []
        for (const release of wave) release()
      }
    },
  }
}
