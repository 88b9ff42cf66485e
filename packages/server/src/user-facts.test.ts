// Issues 13, 14, 15: GET /me answers { id, email, email_verified, roles } from per-process user
// facts that follow the revocation feed (feed/user-facts.ts, migration 10): no statement per
// request in the steady state, a change made by another connection (another process, the roles
// command, an operator's SQL) shows once its notification arrives (PGlite: before its COMMIT
// resolves), and while the feed is not live the rows are read.
import { describe, expect, test } from 'vitest'
import type { FeedState, RevocationFeed } from './feed/revocation-feed.js'
import { UserFacts } from './feed/user-facts.js'
import { grantRole, revokeRole } from './roles/store.js'
import { AuthService } from './service.js'
import { testBackends } from './test-support/databases.js'
import { StatementCounter } from './test-support/statement-counter.js'
import { getMe, serverForSuite, signUp } from './test-support/server.js'
import { until } from './test-support/until.js'


const meOf = async (base: string, token: string) => (await (await getMe(base, token)).json()) as { id: string; email: string; email_verified: boolean; roles: string[] }

describe.each(testBackends())('GET /me from user facts that follow the feed ($name)', (backend) => {
  const suite = serverForSuite(backend, { rateLimit: false })

  test('a bearer token: zero statements per /me once this process has seen the session and the user', async () => {
    const pair = await signUp(suite.server.url)
    const counter = new StatementCounter()
    const { service, db } = suite.server
    const counted = new AuthService({ ...service.o, db: db.withPlugin(counter) })
    expect(await counted.me(pair.access_token)).toEqual({ id: expect.any(String), email: pair.email, email_verified: false, roles: [] })
    expect(counter.kinds.length).toBeGreaterThan(0) // the first time: the session and the user are read
    counter.kinds = []
    for (let i = 0; i < 20; i++) await counted.me(pair.access_token)
    expect(counter.kinds).toEqual([])
  })

  test('verify, grant, revoke, change the email on another connection: /me follows once notified, and reads nothing meanwhile otherwise', async () => {
    const { url, db } = suite.server
    const pair = await signUp(url)
    const me0 = await meOf(url, pair.access_token) // fills this process's facts
    expect(me0).toMatchObject({ email: pair.email, email_verified: false, roles: [] })
    const now = new Date()
    await db.updateTable('users').set({ email_verified: true }).where('id', '=', me0.id).execute()
    await until(async () => (await meOf(url, pair.access_token)).email_verified)
    await grantRole(db, { email: pair.email, role: 'admin', by: 'test', now })
    await grantRole(db, { email: pair.email, role: 'editor', by: 'test', now })
    await until(async () => (await meOf(url, pair.access_token)).roles.length === 2)
    expect((await meOf(url, pair.access_token)).roles).toEqual(['admin', 'editor'])
    await revokeRole(db, { email: pair.email, role: 'admin', by: 'test', now })
    await until(async () => (await meOf(url, pair.access_token)).roles.join() === 'editor')
    const changed = `changed-${pair.email}`
    await db.updateTable('users').set({ email: changed }).where('id', '=', me0.id).execute()
    await until(async () => (await meOf(url, pair.access_token)).email === changed)
    expect(await meOf(url, pair.access_token)).toEqual({ id: me0.id, email: changed, email_verified: true, roles: ['editor'] })
  })

  if (backend.name === 'pglite') {
    test('PGlite: the change is known before its transaction resolves (no waiting)', async () => {
      const { url, db } = suite.server
      const pair = await signUp(url)
      expect((await meOf(url, pair.access_token)).roles).toEqual([])
      await grantRole(db, { email: pair.email, role: 'admin', by: 'test', now: new Date() })
      expect((await meOf(url, pair.access_token)).roles).toEqual(['admin'])
      await db.updateTable('users').set({ email_verified: true }).where('email', '=', pair.email).execute()
      expect((await meOf(url, pair.access_token)).email_verified).toBe(true)
      await db.deleteFrom('user_roles').where('role', '=', 'admin').execute()
      expect((await meOf(url, pair.access_token)).roles).toEqual([])
    })
  }
})

/** A feed the test drives: its state, epoch and the user changes it announces. */
class StubFeed implements RevocationFeed {
  current: FeedState = 'live'
  n = 1
  readonly listeners = new Set<(ids: readonly string[]) => void>()
  state = () => this.current
  epoch = () => this.n
  hasEnded = () => false
  ended = () => undefined
  onUsersChanged(l: (ids: readonly string[]) => void) {
    this.listeners.add(l)
    return () => void this.listeners.delete(l)
  }
  usersChanged(ids: readonly string[]) {
    for (const l of this.listeners) l(ids)
  }
  onJobsQueued = () => () => undefined
  close = async () => undefined
}

describe.each(testBackends())('UserFacts rules ($name)', (backend) => {
  const suite = serverForSuite(backend, { rateLimit: false })

  const setUp = async () => {
    const counter = new StatementCounter()
    const feed = new StubFeed()
    const pair = await signUp(suite.server.url)
    const id = (await meOf(suite.server.url, pair.access_token)).id
    const facts = new UserFacts({ db: suite.server.db.withPlugin(counter), feed })
    return { counter, feed, pair, id, facts }
  }

  test('kept while live in one epoch; forgotten on a change; read again in a new epoch', async () => {
    const { counter, feed, id, facts } = await setUp()
    await facts.get(id)
    await facts.get(id)
    expect(counter.kinds).toHaveLength(1)
    feed.usersChanged([id])
    await facts.get(id)
    expect(counter.kinds).toHaveLength(2)
    feed.n++
    await facts.get(id)
    await facts.get(id)
    expect(counter.kinds).toHaveLength(3)
  })

  test('feed down or catching up: every call reads the row (and a change made meanwhile shows)', async () => {
    const { counter, feed, id, pair, facts } = await setUp()
    await facts.get(id)
    feed.current = 'down'
    await grantRole(suite.server.db, { email: pair.email, role: 'admin', by: 'test', now: new Date() })
    // Unheard (the stub feed announces nothing): the row is read anyway.
    expect((await facts.get(id))?.roles).toEqual(['admin'])
    feed.current = 'catching-up'
    expect((await facts.get(id))?.roles).toEqual(['admin'])
    expect(counter.kinds).toHaveLength(3)
    // Live again under a new epoch: read once, then kept.
    feed.current = 'live'
    feed.n++
    await facts.get(id)
    await facts.get(id)
    expect(counter.kinds).toHaveLength(4)
  })

  test('a read that was under way when a change was heard is answered but not kept', async () => {
    const { counter, feed, id, facts } = await setUp()
    const pending = facts.get(id)
    feed.usersChanged(['someone-else'])
    await pending
    await facts.get(id)
    expect(counter.kinds).toHaveLength(2)
  })

  test('a deleted user: undefined, and nothing kept', async () => {
    const { facts } = await setUp()
    expect(await facts.get('00000000-0000-0000-0000-000000000000')).toBeUndefined()
  })
})
