// Issue 12 with real processes: two servers on one PostgreSQL. A DPoP proof spent at one is
// refused at the other (the jti is recorded in the database, RFC 9449 §11.1), and a nonce issued
// by one is accepted by the other (stateless nonces under the shared server secret, §8).
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createPostgresDatabase, type TestDatabase } from './test-support/databases.js'
import { DpopKey } from './test-support/dpop.js'
import { cliPath, ensureBuilt, spawnServer, type ServerProcess } from './test-support/process.js'
import { PASSWORD, signUp, type Pair } from './test-support/server.js'

const pgUrl = process.env.LATCHKEY_TEST_DATABASE_URL
/** How long a server process may take to become ready on a loaded machine (not a speed check). */
const STARTUP_BOUND_MS = 170_000
const ISSUER = 'http://latchkey.test'

describe.skipIf(!pgUrl)('DPoP jti and nonces across two server processes on one PostgreSQL', () => {
  let tdb: TestDatabase
  let a: ServerProcess
  let b: ServerProcess

  beforeAll(async () => {
    ensureBuilt()
    tdb = await createPostgresDatabase(pgUrl!)
    const env = { PORT: '0', DATABASE_URL: tdb.databaseUrl, LATCHKEY_ISSUER: ISSUER, LATCHKEY_RATE_LIMIT: 'off' }
    a = await spawnServer([cliPath], env, undefined, STARTUP_BOUND_MS)
    b = await spawnServer([cliPath], env, undefined, STARTUP_BOUND_MS)
  }, 2 * STARTUP_BOUND_MS + 10_000)
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await tdb?.cleanup()
  })

  test('a proof used at one process is refused at the other; a nonce of one is good at the other', async () => {
    const key = await DpopKey.create()
    const { email } = await signUp(a.url)
    const signIn = async (url: string, nonce?: string) =>
      fetch(`${url}/auth/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', dpop: await key.proof('POST', `${ISSUER}/auth/sign-in`, new Date(), { ...(nonce ? { nonce } : {}) }) },
        body: JSON.stringify({ email, password: PASSWORD }),
      })
    const dance = await signIn(a.url)
    expect(dance.status).toBe(400)
    const nonce = dance.headers.get('dpop-nonce')!
    // A's nonce, at B.
    const signedIn = await signIn(b.url, nonce)
    expect(signedIn.status).toBe(200)
    const pair = (await signedIn.json()) as Pair
    expect(pair.token_type).toBe('DPoP')

    const proof = await key.proof('GET', `${ISSUER}/me`, new Date(), { accessToken: pair.access_token })
    const me = (url: string) => fetch(`${url}/me`, { headers: { authorization: `DPoP ${pair.access_token}`, dpop: proof } })
    expect((await me(a.url)).status).toBe(200)
    const replay = await me(b.url)
    expect(replay.status).toBe(401)
    expect(await replay.json()).toMatchObject({ error: 'invalid_dpop_proof' })

    // The same at the token endpoint: a refresh proof spent at B is refused at A, and the session lives on.
    const refreshProof = await key.proof('POST', `${ISSUER}/oauth/token`, new Date(), { nonce })
    const refresh = (url: string, token: string, dpop: string) =>
      fetch(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop }, body: `grant_type=refresh_token&refresh_token=${token}` })
    const first = await refresh(b.url, pair.refresh_token, refreshProof)
    expect(first.status).toBe(200)
    const next = (await first.json()) as Pair
    const again = await refresh(a.url, next.refresh_token, refreshProof)
    expect(again.status).toBe(400)
    expect(await again.json()).toMatchObject({ error: 'invalid_dpop_proof' })
    const fresh = await refresh(a.url, next.refresh_token, await key.proof('POST', `${ISSUER}/oauth/token`, new Date(), { nonce: again.headers.get('dpop-nonce')! }))
    expect(fresh.status).toBe(200)
  })
})
