import { Hono } from 'hono'
import { requireCaller, type AppEnv } from '../http/context.js'
import { HttpError } from '../http/errors.js'

/** The caller's sessions (devices) and remote sign-out of one of them. */
export function sessionRoutes() {
  const r = new Hono<AppEnv>()
  r.use(requireCaller())
  r.get('/', async (c) => c.json({ sessions: await c.get('service').listSessions(c.get('caller')) }))
  r.delete('/:id', async (c) => {
    const id = c.req.param('id')
    if (!/^[A-Za-z0-9_-]{22}$/.test(id)) throw new HttpError(404, 'not_found', 'no such session')
    await c.get('service').deleteSession(c.get('caller'), id, c.var.ip)
    return c.json({ ok: true })
  })
  return r
}
