import { Hono } from 'hono'
import type { AppEnv } from '../http/context.js'

export function healthRoutes() {
  const r = new Hono<AppEnv>()
  r.get('/', (c) => c.json({ ok: true }))
  return r
}
