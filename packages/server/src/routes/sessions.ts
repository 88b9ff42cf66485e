import { Hono } from 'hono'
import { requireCaller, type AppEnv } from '../http/context.js'
import { HttpError } from '../http/errors.js'

/**
 * The caller's sessions (devices) and remote sign-out of one of them. Remote sign-out needs a
 * live session of the caller's own (see authRoutes' sign-out-others; OWASP ASVS 5.0 V7.4.1).
 */
export function sessionRoutes() {
  const r = new Hono<AppEnv>()
  const caller = requireCaller()
  const liveCaller = requireCaller({ live: true })
  // Every method needs a caller (an anonymous one gets 401 before any 405); removing needs a live one.
  r.use((c, next) => (c.req.method === 'DELETE' ? liveCaller : caller)(c, next))
  r.get('/', async (c) => c.json({ sessions: await c.get('service').listSessions(c.get('caller')) }))
  r.delete('/:id', async (c) => {
    const id = c.req.param('id')
    if (!/^[A-Za-z0-9_-]{22}$/.test(id)) throw new HttpError(404, 'not_found', 'no such session')
    await c.get('service').deleteSession(c.get('caller'), id, c.var.ip)
    return c.json({ ok: true })
  })
  return r
}
