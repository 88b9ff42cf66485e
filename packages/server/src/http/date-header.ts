import type { MiddlewareHandler } from 'hono'
import { setAnswerHeader } from './response-header.js'

/**
 * Every answer's `Date` (RFC 9110 §6.6.1) is the server's own clock, the one that checks a DPoP
 * proof's `iat` (RFC 9449 §4.3, §11.1). A client whose device clock is far off corrects `iat`
 * from this header (@latchkey/core does), so it must be the clock the proof is judged by: the
 * HTTP stack's default would be the host clock, which differs from `now` when a deployment or a
 * test gives the server another one.
 */
export function dateFromServerClock(now: () => Date): MiddlewareHandler {
  return async function serverDate(c, next) {
    await next()
    setAnswerHeader(c, 'Date', now().toUTCString())
  }
}
