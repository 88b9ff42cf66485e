import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryId, QueryResult, RootOperationNode, UnknownRow } from 'kysely'

/**
 * Counts the statements run through the Kysely instance it is plugged into (`db.withPlugin(counter)`),
 * in the order they answered: a Kysely-built one by its kind (`SelectQueryNode`, …), a prepared one
 * (db/prepared.ts, which Kysely does not compile) by its name (`latchkey_rotate_session`).
 */
export class StatementCounter implements KyselyPlugin {
  kinds: string[] = []
  readonly #built = new WeakMap<QueryId, string>()
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.#built.set(args.queryId, args.node.kind)
    return args.node
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    this.kinds.push(this.#built.get(args.queryId) ?? args.queryId.queryId)
    return args.result
  }
}
