import { Hono } from 'hono'
import { describe, expect, test } from 'vitest'
import { bodyLimit } from './body-limit.js'
import { ClientAbortError, HttpError } from './errors.js'

/** bodyLimit alone, through app.request(): the route echoes the body's length; errors answer as the app's onError does. */
function app(maxBytes: number) {
  const a = new Hono()
  a.onError((err, c) => {
    if (!(err instanceof HttpError)) throw err
    for (const [k, v] of Object.entries(err.headers)) c.header(k, v)
    return c.json({ error: err.error, kind: err.name }, err.status)
  })
  a.use(bodyLimit({ maxBytes, drain: { bytes: 1000, ms: 5_000 } }))
  a.post('/', async (c) => c.json({ length: (await c.req.arrayBuffer()).byteLength }))
  return a
}

/** A chunked body (no Content-Length): these chunks, then an end, an error, or nothing ever. */
function stream(chunks: number[], then: 'end' | Error | 'hang' = 'end'): ReadableStream<Uint8Array> {
  let i = 0
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) return controller.enqueue(new Uint8Array(chunks[i++]!))
      if (then === 'end') controller.close()
      else if (then instanceof Error) controller.error(then)
      else return new Promise(() => undefined)
    },
  })
}

const post = (a: Hono, body: ReadableStream<Uint8Array> | string, headers: Record<string, string> = {}) =>
  a.request('/', { method: 'POST', body, headers, duplex: 'half' } as RequestInit)

describe('bodyLimit', () => {
  test('a chunked body within the limit reaches the route whole', async () => {
    const res = await post(app(100), stream([40, 40, 20]))
    expect(await res.json()).toEqual({ length: 100 })
  })

  test('a chunked body over the limit: 413 with Connection: close, after reading what is left', async () => {
    const res = await post(app(100), stream([60, 60, 500]))
    expect(res.status).toBe(413)
    expect(res.headers.get('connection')).toBe('close')
    expect(await res.json()).toEqual({ error: 'invalid_request', kind: 'HttpError' })
  })

  test('a chunked body that never ends past the drain bound is not waited for', async () => {
    const res = await post(app(100), stream([60, 60, 600, 600], 'hang'))
    expect(res.status).toBe(413)
  })

  test('a declared Content-Length over limit and drain bound is refused before reading anything', async () => {
    const res = await post(app(100), stream([], 'hang'), { 'content-length': '5000' })
    expect(res.status).toBe(413)
    expect(res.headers.get('connection')).toBe('close')
  })

  test('a client that breaks its body mid-way is a client abort (400), not a server error', async () => {
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' })
    const res = await post(app(100), stream([10], reset))
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: 'invalid_request', kind: 'ClientAbortError' })
  })

  test('an error from reading that is not the client going away stays a server error', async () => {
    await expect(post(app(100), stream([10], new RangeError('a bug')))).rejects.toThrow('a bug')
  })

  test('the factory checks its options when it runs', () => {
    expect(() => bodyLimit({ maxBytes: 0 })).toThrow(RangeError)
    expect(new ClientAbortError(new Error('aborted')).status).toBe(400)
  })
})
