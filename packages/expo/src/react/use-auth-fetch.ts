import { useCallback } from 'react'
import { useSessionClient } from './context.js'

/** A stable `fetch` that sends the access token and refreshes once on a 401 (the client's fetch). */
export function useAuthFetch(): (input: Request | string | URL, init?: RequestInit) => Promise<Response> {
  const client = useSessionClient()
  return useCallback((input: Request | string | URL, init?: RequestInit) => client.fetch(input, init), [client])
}
