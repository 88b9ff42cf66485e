import { Hono } from 'hono'
import { requireCaller, type AppEnv } from '../http/context.js'

/** A protected resource: the signed-in account. */
export function meRoutes() {
  const r = new Hono<AppEnv>()
  r.get('/', requireCaller(), async (c) => c.json(await c.get('service').me(c.get('caller'))))
  return r
}
