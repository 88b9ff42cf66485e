import { Hono } from 'hono'
import type { AppEnv } from '../http/context.js'
import { accessCredentials } from '../http/dpop.js'

/** A protected resource: the signed-in account. */
export function meRoutes() {
  const r = new Hono<AppEnv>()
  r.get('/', async (c) => {
    const service = c.get('service')
    const account = await service.me(accessCredentials(c))
    // Issue 13: whether the owner proved the address (email/flows.ts).
    const row = await service.o.db.selectFrom('users').select('email_verified').where('id', '=', account.id).executeTakeFirst()
    return c.json({ ...account, email_verified: row?.email_verified ?? false })
  })
  return r
}
