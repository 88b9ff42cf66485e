import type { SessionClient } from '@latchkey/core'
import { useEffect } from 'react'
import { useSessionClient } from './context.js'

/** TanStack Query's QueryClient, as far as sign-out needs it. */
export interface QueryClientLike {
  clear(): void
}

/** Clears every cached query and mutation when the session ends; returns the unregister function. */
export function registerQueryClient(client: SessionClient, queryClient: QueryClientLike): () => void {
  return client.onSignOut(() => queryClient.clear())
}

/** Hook form of `registerQueryClient` for the client in `<SessionProvider>`. */
export function useQueryClientCleanup(queryClient: QueryClientLike): void {
  const client = useSessionClient()
  useEffect(() => registerQueryClient(client, queryClient), [client, queryClient])
}
