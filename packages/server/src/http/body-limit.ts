import type { MiddlewareHandler } from 'hono'
import { ClientAbortError, HttpError, isClientAbort } from './errors.js'

export interface BodyLimitOptions {
  /** Largest accepted request body, bytes. */
  maxBytes: number
  /**
   * How much of an oversized body is read and thrown away before the 413 is sent (default 1 MiB
   * beyond `maxBytes`, for at most 5 s). A server that answers while the client is still sending
   * and then closes makes the client's TCP stack reset the connection, and a reset can destroy the
   * answer before the client reads it ("other side closed"); once the body is in, the 413 arrives
   * intact. A body bigger than this (or slower) is not waited for.
   */
  drain?: { bytes: number; ms: number }
}

type ReadResult = { done: boolean; value?: Uint8Array | undefined }
type Reader = { read(): Promise<ReadResult> }

const tooLarge = () => new HttpError(413, 'invalid_request', 'the request body is too large', { Connection: 'close' })

/**
 * Refuses request bodies over `maxBytes` with 413 `invalid_request` and `Connection: close` (the
 * connection is not reused after a body we did not read to its end). A declared Content-Length is
 * checked before reading; a chunked body is counted as it arrives and kept for the route.
 */
export function bodyLimit(options: BodyLimitOptions): MiddlewareHandler {
  const { maxBytes } = options
  const drain = options.drain ?? { bytes: 1024 * 1024, ms: 5_000 }
  if (!(Number.isInteger(maxBytes) && maxBytes > 0)) throw new RangeError(`bodyLimit: maxBytes must be a positive integer; got ${String(maxBytes)}`)
  return async function bodyLimit(c, next) {
    // The headers decide first, without touching `c.req.raw.body`: on Node that getter builds a web
    // Request and stream around the socket, where a body within its declared length is read
    // straight from it later (@hono/node-server's direct read).
    const declared = c.req.header('content-length')
    const chunked = c.req.header('transfer-encoding') !== undefined
    if (declared !== undefined && !chunked) {
      // Node's parser holds a body to its declared length, so the header can be trusted.
      const length = Number(declared)
      if (length <= maxBytes) return next()
      const body = c.req.raw.body
      if (body && length <= maxBytes + drain.bytes) await discard(body.getReader(), length, drain.ms)
      throw tooLarge()
    }
    // RFC 9112 §6.3: on Node's HTTP/1.1 parser a request with neither Content-Length nor
    // Transfer-Encoding has no body. (A Request made in-process, `app.request()`, may carry one
    // without either header: it is counted below.)
    if (!chunked && (c.env as { incoming?: unknown } | undefined)?.incoming !== undefined) return next()
    const body = c.req.raw.body
    if (!body) return next()
    const reader: Reader = body.getReader()
    const chunks: Uint8Array[] = []
    let size = 0
    for (;;) {
      let chunk: ReadResult
      try {
        chunk = await reader.read()
      } catch (e) {
        throw isClientAbort(e) ? new ClientAbortError(e) : e
      }
      if (chunk.done || !chunk.value) break
      size += chunk.value.byteLength
      if (size > maxBytes) {
        await discard(reader, drain.bytes, drain.ms)
        throw tooLarge()
      }
      chunks.push(chunk.value)
    }
    const whole = new Uint8Array(size)
    let offset = 0
    for (const chunk of chunks) {
      whole.set(chunk, offset)
      offset += chunk.byteLength
    }
    c.req.raw = new Request(c.req.raw, { body: whole })
    await next()
  }
}

/**
 * Reads and drops up to `bytes` more of a body, for at most `ms`; stops quietly when the client
 * goes away. Never cancels the stream: on Node that would destroy the socket before the answer.
 */
async function discard(reader: Reader, bytes: number, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeUp = new Promise<'time'>((resolve) => {
    timer = setTimeout(() => resolve('time'), ms)
    timer.unref?.()
  })
  try {
    for (let read = 0; read <= bytes; ) {
      const r = await Promise.race([reader.read(), timeUp])
      if (r === 'time' || r.done || !r.value) return
      read += r.value.byteLength
    }
  } catch {
    // The client is gone; nobody will read the answer either.
  } finally {
    clearTimeout(timer)
  }
}
