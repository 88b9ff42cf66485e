import { describe, expect, test } from 'vitest'
import { AuthService } from './service.js'
import { listAuditEvents } from './store/audit.js'
import { testBackends } from './test-support/databases.js'
import { StatementCounter } from './test-support/statement-counter.js'
import { PASSWORD, serverForSuite, sidOf, signUp, uniqueEmail } from './test-support/server.js'


/**
 * Issue 14: database round trips per refresh (RFC 6749 §6 with rotation, RFC 9700 §4.14.2). The
 * rotating UPDATE writes its `refresh` audit row in the same statement, and a process that has
 * already seen the session (issued or checked one of its tokens) checks the MAC against the
 * session secret it keeps and rotates straight away: one statement per refresh, two the first
 * time this process sees the session; three before (read, rotate, audit). The compare-and-set, the
 * grace answer, reuse revocation and their audit rows are unchanged (server.test.ts, process.test.ts).
 */
describe.each(testBackends())('statements per refresh ($name)', (backend) => {
  const suite = serverForSuite(backend, { refreshGrace: 60 })
  /** A service over the suite's database whose statements are counted (its own, empty, secret memory). */
  const counting = () => {
    const counter = new StatementCounter()
    const { service, db } = suite.server
    return { counter, service: new AuthService({ ...service.o, db: db.withPlugin(counter) }) }
  }

  test('a rotation is one statement (rotate with its audit row); two for a session this process has not seen (read first)', async () => {
    const { refresh_token, access_token } = await signUp(suite.server.url)
    const { counter, service } = counting()
    const first = await service.refresh(refresh_token, '192.0.2.7')
    expect(counter.kinds).toEqual(['latchkey_select_session', 'latchkey_rotate_session'])
    counter.kinds = []
    const second = await service.refresh(first.refresh_token, '192.0.2.8')
    expect(counter.kinds).toEqual(['latchkey_rotate_session'])
    expect(second.refresh_token).not.toBe(first.refresh_token)
    const events = await listAuditEvents(suite.server.db, { sessionId: sidOf(access_token), type: 'refresh' })
    expect(events.map((e) => ({ ip: e.ip, detail: e.detail }))).toEqual([
      { ip: '192.0.2.7', detail: { counter: 1 } },
      { ip: '192.0.2.8', detail: { counter: 2 } },
    ])
    expect(events.every((e) => e.userId !== null)).toBe(true)
  })

  test('pairs issued by this process (sign-up) make its first refresh one statement', async () => {
    const { counter, service } = counting()
    const issued = await service.signUp({ email: uniqueEmail('stmts'), password: PASSWORD, device: null, ip: null })
    counter.kinds = []
    await service.refresh(issued.refresh_token, null)
    expect(counter.kinds).toEqual(['latchkey_rotate_session'])
  })

  test('a losing rotation writes no `refresh` row; grace and reuse keep their audit rows', async () => {
    const { refresh_token, access_token } = await signUp(suite.server.url)
    const sid = sidOf(access_token)
    const { service } = counting()
    await service.refresh(refresh_token, null)
    // The previous token within the grace window: the current pair, no rotation.
    await service.refresh(refresh_token, null)
    expect((await listAuditEvents(suite.server.db, { sessionId: sid })).map((e) => e.type)).toEqual(['sign_up', 'refresh', 'refresh_grace'])
  })

  test('a token with a wrong MAC rotates nothing: refused after one read, or with no statement once the secret is known', async () => {
    const { refresh_token, access_token } = await signUp(suite.server.url)
    const { counter, service } = counting()
    const forge = (t: string) => t.slice(0, -2) + (t.endsWith('AA') ? 'AB' : 'AA')
    await expect(service.refresh(forge(refresh_token), null)).rejects.toMatchObject({ status: 400, error: 'invalid_grant' })
    expect(counter.kinds).toEqual(['latchkey_select_session'])
    const { refresh_token: current } = await service.refresh(refresh_token, null)
    counter.kinds = []
    await expect(service.refresh(forge(current), null)).rejects.toMatchObject({ status: 400, error: 'invalid_grant' })
    expect(counter.kinds).toEqual([])
    expect((await listAuditEvents(suite.server.db, { sessionId: sidOf(access_token) })).map((e) => e.type)).toEqual(['sign_up', 'refresh'])
    // The forgery changed nothing: the current token still rotates.
    await service.refresh(current, null)
  })

  test('with the secret known, a stale token is still decided on the row: grace, then reuse revokes', async () => {
    const { refresh_token, access_token } = await signUp(suite.server.url)
    const sid = sidOf(access_token)
    const { service } = counting()
    const one = await service.refresh(refresh_token, null)
    await service.refresh(one.refresh_token, null)
    // `refresh_token` is two rotations old now: a copy in someone else's hands.
    await expect(service.refresh(refresh_token, null)).rejects.toMatchObject({ error: 'invalid_grant' })
    expect((await listAuditEvents(suite.server.db, { sessionId: sid })).map((e) => e.type)).toEqual(['sign_up', 'refresh', 'refresh', 'refresh_reuse_detected'])
    const row = await suite.server.db.selectFrom('sessions').select(['revoke_reason']).where('id', '=', sid).executeTakeFirstOrThrow()
    expect(row.revoke_reason).toBe('reuse')
  })
})
