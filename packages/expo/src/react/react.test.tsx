// @vitest-environment happy-dom
import { createForegroundManager, createOnlineManager, createSessionClient, memoryStorage, silentLogger, type FetchLike, type SessionClientOptions } from '@latchkey/core'
import { QueryClient } from '@tanstack/react-query'
import { act, cleanup, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createSecureStoreStorage } from '../storage/secure-store-storage.js'
import { createFakeSecureStore } from '../test-support/fake-secure-store.js'
import { SessionProvider } from './context.js'
import { registerQueryClient, useQueryClientCleanup } from './query-client.js'
import { SessionGuard, useSessionGuard } from './session-guard.js'
import { useAuthFetch } from './use-auth-fetch.js'
import { useSession } from './use-session.js'

const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
const jwt = (claims: object) => `${b64({ alg: 'none' })}.${b64(claims)}.sig`
const pair = (n: number) => ({ access_token: jwt({ sub: `user-${n}`, name: 'Ada' }), token_type: 'Bearer', expires_in: 600, refresh_token: `r${n}` })

const makeClient = (options: Partial<SessionClientOptions> = {}) =>
  createSessionClient({
    storage: memoryStorage(), refresh: async () => pair(2), logger: silentLogger,
    foreground: createForegroundManager({ web: false }), online: createOnlineManager({ web: false }), ...options,
  })

const clients: Array<{ stop(): void }> = []
afterEach(() => {
  cleanup()
  for (const c of clients.splice(0)) c.stop()
})

function Account() {
  const { status, ready, claims, signIn, signOut, state } = useSession<{ sub: string; name: string }>()
  return (
    <div>
      <p data-testid="status">{ready ? status : 'not-ready'}</p>
      <p data-testid="who">{claims?.sub ?? 'nobody'}</p>
      <p data-testid="reason">{state.reason ?? ''}</p>
      <button onClick={() => void signIn(pair(1))}>sign in</button>
      <button onClick={() => void signOut()}>sign out</button>
    </div>
  )
}

describe('useSession', () => {
  it('follows the client through sign-in and sign-out, with claims', async () => {
    const client = makeClient()
    clients.push(client)
    render(<SessionProvider client={client}><Account /></SessionProvider>)
    await act(async () => client.start())
    expect(screen.getByTestId('status').textContent).toBe('signedOut')
    await act(async () => screen.getByText('sign in').click())
    expect(screen.getByTestId('status').textContent).toBe('signedIn')
    expect(screen.getByTestId('who').textContent).toBe('user-1')
    await act(async () => screen.getByText('sign out').click())
    expect(screen.getByTestId('status').textContent).toBe('signedOut')
    expect(screen.getByTestId('reason').textContent).toBe('user')
    expect(screen.getByTestId('who').textContent).toBe('nobody')
  })

  it('throws a clear error outside the provider', () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined)
    expect(() => render(<Account />)).toThrow(/SessionProvider/)
    vi.mocked(console.error).mockRestore()
  })
})

describe('useSession roles', () => {
  it('exposes the roles claim and hasRole, follows a refresh, and has none when signed out or for a malformed claim', async () => {
    const withRoles = (roles: unknown, n: number) => ({ access_token: jwt({ sub: 'u', roles }), token_type: 'Bearer', expires_in: 600, refresh_token: `r${n}` })
    let next: unknown = []
    const first = withRoles(['admin', 'support'], 1)
    // The API refuses the first token (401): the client refreshes once and adopts the new one.
    const fetch: FetchLike = async (input) => new Response(null, { status: new Request(input).headers.get('Authorization') === `Bearer ${first.access_token}` ? 401 : 200 })
    const client = makeClient({ refresh: async () => withRoles(next, 9), fetch, tokenOrigins: ['https://api.example'] })
    clients.push(client)
    function Roles() {
      const { roles, hasRole } = useSession()
      return <p data-testid="roles">{`${roles.join(',')}|${String(hasRole('admin'))}`}</p>
    }
    render(<SessionProvider client={client}><Roles /></SessionProvider>)
    await act(async () => client.start())
    expect(screen.getByTestId('roles').textContent).toBe('|false')
    await act(async () => client.signIn(first))
    expect(screen.getByTestId('roles').textContent).toBe('admin,support|true')
    // The role was revoked on the server: the next access token no longer carries it.
    next = ['support']
    await act(async () => void (await client.fetch('https://api.example/x')))
    expect(screen.getByTestId('roles').textContent).toBe('support|false')
    await act(async () => client.signIn(withRoles('admin', 2)))
    expect(screen.getByTestId('roles').textContent).toBe('|false')
    await act(async () => client.signIn(withRoles(['admin', 7], 3)))
    expect(screen.getByTestId('roles').textContent).toBe('admin|true')
    await act(async () => client.signOut())
    expect(screen.getByTestId('roles').textContent).toBe('|false')
  })
})

describe('useAuthFetch', () => {
  it('sends the access token and replays once after a 401', async () => {
    const seen: string[] = []
    const fetch: FetchLike = async (input) => {
      const auth = new Request(input).headers.get('Authorization') ?? ''
      seen.push(auth)
      return new Response(null, { status: auth.includes(pair(1).access_token) ? 401 : 200 })
    }
    const client = makeClient({ fetch, tokenOrigins: ['https://api.example'] })
    clients.push(client)
    await client.signIn(pair(1))
    let status = 0
    function Caller() {
      const authFetch = useAuthFetch()
      return <button onClick={() => void authFetch('https://api.example/me').then((r) => (status = r.status))}>call</button>
    }
    render(<SessionProvider client={client}><Caller /></SessionProvider>)
    await act(async () => screen.getByText('call').click())
    await vi.waitFor(() => expect(status).toBe(200))
    expect(seen).toEqual([`Bearer ${pair(1).access_token}`, `Bearer ${pair(2).access_token}`])
  })
})

function Redirect({ href }: { href: string }) {
  return <p data-testid="redirect">{href}</p>
}
function Secret() {
  const { claims } = useSession<{ name: string }>()
  return <p data-testid="secret">secret for {claims?.name}</p>
}
const guarded = (client: ReturnType<typeof makeClient>) => (
  <SessionProvider client={client}>
    <SessionGuard signInHref="/sign-in" Redirect={Redirect} fallback={<p data-testid="splash">splash</p>} locked={<p data-testid="lock">locked</p>}>
      <Secret />
    </SessionGuard>
  </SessionProvider>
)

describe('SessionGuard (Expo Router)', () => {
  it('shows the splash while restoring, then redirects a signed-out user', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const inner = memoryStorage()
    const client = makeClient({ storage: { ...inner, getItem: async (k) => (await gate, inner.getItem(k)) } })
    clients.push(client)
    render(guarded(client))
    expect(screen.getByTestId('splash')).toBeTruthy()
    expect(screen.queryByTestId('redirect')).toBeNull()
    await act(async () => release())
    await vi.waitFor(() => expect(screen.getByTestId('redirect').textContent).toBe('/sign-in'))
    expect(screen.queryByTestId('secret')).toBeNull()
  })

  it('renders the route when signed in, and nothing secret once locked', async () => {
    const client = makeClient()
    clients.push(client)
    await client.signIn(pair(1))
    render(guarded(client))
    expect(screen.getByTestId('secret').textContent).toBe('secret for Ada')
    act(() => client.lock())
    expect(screen.queryByTestId('secret')).toBeNull()
    expect(screen.getByTestId('lock')).toBeTruthy()
    expect(document.body.textContent).not.toContain('Ada')
    await act(async () => client.unlock())
    expect(screen.getByTestId('secret')).toBeTruthy()
  })

  it('a client started locked shows the lock screen, never the route', async () => {
    const storage = memoryStorage()
    await makeClient({ storage }).signIn(pair(1))
    const client = makeClient({ storage, startLocked: true })
    clients.push(client)
    render(guarded(client))
    await act(async () => client.start())
    expect(screen.getByTestId('lock')).toBeTruthy()
    expect(screen.queryByTestId('secret')).toBeNull()
  })

  it('device locked at launch (storage unreadable) is not a sign-out: no redirect', async () => {
    const fake = createFakeSecureStore()
    const storage = createSecureStoreStorage({ secureStore: fake.module })
    await makeClient({ storage }).signIn(pair(1))
    fake.setDeviceLocked(true)
    const client = makeClient({ storage })
    clients.push(client)
    render(guarded(client))
    await act(async () => client.start())
    expect(screen.getByTestId('splash')).toBeTruthy()
    expect(screen.queryByTestId('redirect')).toBeNull()
  })

  it('useSessionGuard drives Stack.Protected', async () => {
    const client = makeClient()
    clients.push(client)
    const guards: boolean[] = []
    function Layout() {
      const { signedIn } = useSessionGuard()
      guards.push(signedIn)
      return <p data-testid="guard">{String(signedIn)}</p>
    }
    render(<SessionProvider client={client}><Layout /></SessionProvider>)
    await act(async () => client.start())
    expect(screen.getByTestId('guard').textContent).toBe('false')
    await act(async () => client.signIn(pair(1)))
    expect(screen.getByTestId('guard').textContent).toBe('true')
  })
})

describe('TanStack Query on sign-out', () => {
  it('useQueryClientCleanup clears the cache when the session ends', async () => {
    const client = makeClient()
    clients.push(client)
    await client.signIn(pair(1))
    const queryClient = new QueryClient()
    queryClient.setQueryData(['me'], { name: 'Ada' })
    function App() {
      useQueryClientCleanup(queryClient)
      return null
    }
    render(<SessionProvider client={client}><App /></SessionProvider>)
    await act(async () => client.signOut())
    expect(queryClient.getQueryData(['me'])).toBeUndefined()
    expect(queryClient.getQueryCache().getAll()).toHaveLength(0)
  })

  it('registerQueryClient works without React and can be undone', async () => {
    const client = makeClient()
    clients.push(client)
    const queryClient = { clear: vi.fn() }
    const undo = registerQueryClient(client, queryClient)
    await client.signIn(pair(1))
    await client.signOut()
    expect(queryClient.clear).toHaveBeenCalledOnce()
    undo()
    await client.signIn(pair(1))
    await client.signOut()
    expect(queryClient.clear).toHaveBeenCalledOnce()
  })
})
