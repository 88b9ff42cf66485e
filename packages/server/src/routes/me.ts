import { Hono } from 'hono'
import type { AppEnv } from '../http/context.js'
import { accessCredentials } from '../http/dpop.js'

/** A protected resource: the signed-in account. */
export function meRoutes() {
  const r = new Hono<AppEnv>()
  r.get('/', async (c) => {
    const service = c.get('service')
    // Issues 13 and 15: { id, email, email_verified, roles }, without a database read while the
    // revocation feed is live (feed/user-facts.ts).
    const { id, email, email_verified, roles } = await service.me(accessCredentials(c))
    return c.json({ id, email, email_verified, roles })
  })
  return r
}
