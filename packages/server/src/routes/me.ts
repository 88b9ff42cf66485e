import { Hono } from 'hono'
import type { AppEnv } from '../http/context.js'
import { accessCredentials } from '../http/dpop.js'

/** A protected resource: the signed-in account. */
export function meRoutes() {
  const r = new Hono<AppEnv>()
  r.get('/', async (c) => c.json(await c.get('service').me(accessCredentials(c))))
  return r
}
