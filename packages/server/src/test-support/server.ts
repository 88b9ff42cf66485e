import { silentLogger } from '../app.js'
import { startServer, type RunningServer, type ServerOptions } from '../server.js'
import { afterAll, beforeAll } from 'vitest'
import type { TestBackend, TestDatabase } from './databases.js'

/** A clock the tests can move forward (or freeze) while the server uses it. */
export class TestClock {
  offsetMs = 0
  frozenAt: number | undefined
  now = (): Date => new Date((this.frozenAt ?? Date.now()) + this.offsetMs)
  advance(seconds: number) {
    this.offsetMs += seconds * 1000
  }
  freeze() {
    this.frozenAt = Date.now()
  }
  unfreeze() {
    this.frozenAt = undefined
  }
}

export async function startTestServer(db: TestDatabase, options: ServerOptions = {}): Promise<RunningServer> {
  return startServer({
    port: 0,
    host: '127.0.0.1',
    ...(db.databaseUrl ? { databaseUrl: db.databaseUrl } : { dataDir: db.dataDir! }),
    logger: silentLogger,
    // The hash queue's bound and deadline are real-time limits that depend on the machine's speed;
    // a test server lifts them unless the test is about them (finding 17: a busy machine answered 503).
    hashQueue: 100_000,
    hashQueueTimeoutMs: 600_000,
    ...options,
  })
}

/** A server on a fresh database of `backend` for the enclosing describe block, closed (and the database dropped) after it. */
export function serverForSuite(backend: TestBackend, options: ServerOptions): { readonly server: RunningServer } {
  let tdb: TestDatabase | undefined
  let server: RunningServer | undefined
  beforeAll(async () => {
    tdb = await backend.create()
    server = await startTestServer(tdb, options)
  })
  afterAll(async () => {
    await server?.close()
    await tdb?.cleanup()
  })
  return {
    get server() {
      if (!server) throw new Error('the suite server is not started yet (use it inside a test)')
      return server
    },
  }
}

let seq = 0
/** A unique email per call (suites share a database). */
export const uniqueEmail = (tag = 'user') => `${tag}-${process.pid}-${Date.now().toString(36)}-${seq++}@example.com`

export const PASSWORD = 'correct horse battery staple'

export interface Pair {
  access_token: string
  refresh_token: string
  token_type: string
  expires_in: number
}

export async function postJson(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
}

export async function postForm(base: string, path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString() })
}

/** Signs up a new account; with `resource` (RFC 8707) the access token is for that resource server. */
export async function signUp(base: string, email = uniqueEmail(), device = 'test device', resource?: string): Promise<Pair & { email: string }> {
  const res = await postJson(base, '/auth/sign-up', { email, password: PASSWORD, device, ...(resource === undefined ? {} : { resource }) })
  if (res.status !== 201) throw new Error(`sign-up answered ${res.status}: ${await res.text()}`)
  return { ...((await res.json()) as Pair), email }
}

export const refresh = (base: string, refreshToken: string) => postForm(base, '/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken })

export const getMe = (base: string, accessToken: string) => fetch(`${base}/me`, { headers: { authorization: `Bearer ${accessToken}` } })

/** The `sid` claim of an access token (no verification). */
export function sidOf(accessToken: string): string {
  return (JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid
}
