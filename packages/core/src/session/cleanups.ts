export type Cleanup = () => void | Promise<void>

/** Sign-out cleanups (query caches, stores, app keys). Each runs isolated: one failing stops none. */
export function createCleanups(onError: (error: unknown) => void) {
  const cleanups = new Set<Cleanup>()
  return {
    add(cleanup: Cleanup): () => void {
      cleanups.add(cleanup)
      return () => void cleanups.delete(cleanup)
    },
    async runAll(): Promise<void> {
      await Promise.all(
        [...cleanups].map(async (cleanup) => {
          try {
            await cleanup()
          } catch (error) {
            onError(error)
          }
        }),
      )
    },
  }
}
