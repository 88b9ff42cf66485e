import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely'
import { describe, expect, test } from 'vitest'
import { AuthService } from './service.js'
import { listAuditEvents } from './store/audit.js'
import { testBackends } from './test-support/databases.js'
import { serverForSuite, sidOf, signUp } from './test-support/server.js'

/** Counts the statements sent through the Kysely instance it is plugged into. */
class StatementCounter implements KyselyPlugin {
  kinds: string[] = []
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.kinds.push(args.node.kind)
    return args.node
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  }
}

/**
 * Issue 14: database round trips per refresh. The rotating UPDATE writes its `refresh` audit row
 * in the same statement, so a rotation is two statements (read the session for the MAC's
 * per-session secret, then rotate + audit), down from three. The compare-and-set, the grace
 * answer, reuse revocation and their audit rows are unchanged (server.test.ts, process.test.ts).
 */
describe.each(testBackends())('statements per refresh ($name)', (backend) => {
  const suite = serverForSuite(backend, { refreshGrace: 60 })
  const counting = () => {
    const counter = new StatementCounter()
    const { service, db } = suite.server
    return { counter, service: new AuthService({ ...service.o, db: db.withPlugin(counter) }) }
  }

  test('a rotation is two statements (read, then rotate with its audit row) and records its `refresh` event', async () => {
    const { refresh_token, access_token } = await signUp(suite.server.url)
    const { counter, service } = counting()
    const pair = await service.refresh(refresh_token, '192.0.2.7')
    expect(counter.kinds).toEqual(['SelectQueryNode', 'SelectQueryNode'])
    expect(pair.refresh_token).not.toBe(refresh_token)
    const events = await listAuditEvents(suite.server.db, { sessionId: sidOf(access_token), type: 'refresh' })
    expect(events.map((e) => ({ ip: e.ip, detail: e.detail }))).toEqual([{ ip: '192.0.2.7', detail: { counter: 1 } }])
    expect(events[0]!.userId).toBeTruthy()
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

  test('a token with a wrong MAC is refused after one read and rotates nothing', async () => {
    const { refresh_token, access_token } = await signUp(suite.server.url)
    const { counter, service } = counting()
    const forged = refresh_token.slice(0, -2) + (refresh_token.endsWith('AA') ? 'AB' : 'AA')
    await expect(service.refresh(forged, null)).rejects.toMatchObject({ status: 400 })
    expect(counter.kinds).toEqual(['SelectQueryNode'])
    expect((await listAuditEvents(suite.server.db, { sessionId: sidOf(access_token) })).map((e) => e.type)).toEqual(['sign_up'])
  })
})
