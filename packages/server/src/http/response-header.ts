import type { Context } from 'hono'

/**
 * Sets a header on the answer a handler has already produced (middleware, after `next()`).
 * Hono's `c.header()` at that point rebuilds the Response around its body, which on Node turns
 * @hono/node-server's lightweight answer into a web Response with a ReadableStream body (the
 * single largest cost of a refresh in a profile). The answer's own headers are set in place
 * instead; a Response whose headers are immutable (`Response.redirect`, a fetched one) throws a
 * TypeError there and gets Hono's rebuild.
 */
export function setAnswerHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.set(name, value)
  } catch (e) {
    if (!(e instanceof TypeError)) throw e
    c.header(name, value)
  }
}
