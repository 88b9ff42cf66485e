import { Hono } from 'hono'
import { bearerToken, type AppEnv } from '../http/context.js'

/** A protected resource: the signed-in account. */
export function meRoutes() {
  const r = new Hono<AppEnv>()
  r.get('/', async (c) => c.json(await c.get('service').me(bearerToken(c.req.header('authorization')))))
  return r
}
