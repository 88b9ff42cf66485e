import type { SessionClient } from '@latchkey/core'
import { createContext, useContext, useEffect, type ReactNode } from 'react'

const SessionContext = createContext<SessionClient | null>(null)

export interface SessionProviderProps {
  client: SessionClient
  children?: ReactNode
}

/** Makes the client available to the hooks and starts it (restore, or `locked` with a gate). */
export function SessionProvider({ client, children }: SessionProviderProps) {
  useEffect(() => {
    // start() is idempotent; the app owns the client and stops it if it ever needs to.
    void client.start()
  }, [client])
  return <SessionContext.Provider value={client}>{children}</SessionContext.Provider>
}

export function useSessionClient(): SessionClient {
  const client = useContext(SessionContext)
  if (!client) throw new Error('useSession* must be used inside <SessionProvider client={...}>')
  return client
}
