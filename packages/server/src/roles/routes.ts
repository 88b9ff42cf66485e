import { Hono } from 'hono'
import { requireCaller, type AppEnv } from '../http/context.js'
import { invalidRequest } from '../http/errors.js'
import { insufficientRole } from './http.js'
import { listUsersWithRoles, rolesOf } from './store.js'

export const ADMIN_ROLE = 'admin'
const MAX_PAGE = 100

/**
 * The server's own admin routes (issue 15). The role is checked on the CURRENT roles, read from
 * user_roles on every request, never from the access token's `roles` claim: a revoked role stops
 * working here at once, in every process (no cache to go stale), while the claim only changes when
 * the token is refreshed. The session must be live too (`requireCaller({ live: true })`: the row,
 * whatever the feed knows), so a signed-out admin's token is refused as well.
 *
 * GET /admin/users?limit=50&after=<email>: users by email with their roles; `next` is the `after`
 * of the following page, null at the end.
 */
export function adminRoutes() {
  const r = new Hono<AppEnv>()
  r.use(requireCaller({ live: true }))
  r.use(async (c, next) => {
    const roles = await rolesOf(c.get('service').o.db, c.get('caller').userId)
    if (!roles.includes(ADMIN_ROLE)) throw insufficientRole([ADMIN_ROLE])
    await next()
  })
  r.get('/users', async (c) => {
    const limitText = c.req.query('limit') ?? '50'
    if (!/^[0-9]{1,3}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_PAGE) throw invalidRequest(`limit must be an integer from 1 to ${MAX_PAGE}`)
    const after = c.req.query('after')
    if (after !== undefined && (after === '' || after.length > 320)) throw invalidRequest('after must be the email a previous page named as next')
    c.header('Cache-Control', 'no-store')
    return c.json(await listUsersWithRoles(c.get('service').o.db, { after, limit: Number(limitText) }))
  })
  return r
}
