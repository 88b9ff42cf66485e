import { NetworkError } from '../errors/errors.js'
import { globalFetch, systemTimers, type FetchLike, type Timers } from '../env/ambient.js'
import { withDeadline } from '../env/deadline.js'

export interface EndpointOptions {
  clientId?: string
  fetch?: FetchLike
  headers?: Record<string, string>
  /** `'include'` sends the httpOnly refresh cookie cross-origin on the web. */
  credentials?: RequestCredentials
  /** Per exchange, from sending the request to the last byte of the answer; default 10 000 ms. */
  timeoutMs?: number
  timers?: Timers
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
/** A token or revocation answer is a few kilobytes; anything far larger is not one. */
const MAX_ANSWER_BYTES = 256 * 1024

export interface FormAnswer {
  status: number
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  body: unknown
  headers: Headers | null
}

/**
 * POSTs an application/x-www-form-urlencoded body and reads the whole answer. One deadline covers
 * every step — connect, headers and body — so an answer whose body stalls after its headers fails
 * with `LK_TIMEOUT` instead of holding the caller (and the refresh lock) until the connection dies.
 * Aborting `signal` ends the exchange at once with `LK_NETWORK`.
 */
export function postForm(url: string, form: URLSearchParams, options: EndpointOptions, signal: AbortSignal | undefined): Promise<FormAnswer> {
  const fetchImpl = options.fetch ?? globalFetch()
  return withDeadline(
    async (s) => {
      const init: RequestInit = {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', ...options.headers },
        body: form.toString(),
        signal: s,
      }
      if (options.credentials) init.credentials = options.credentials
      let response: Response
      try {
        response = await fetchImpl(url, init)
      } catch (cause) {
        throw new NetworkError('unreachable', 'could not reach the authorization server', { cause })
      }
      const text = await readText(response, s)
      return { status: response.status, body: parseJson(text), headers: response.headers ?? null }
    },
    {
      ms: options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      timers: options.timers ?? systemTimers(),
      signal,
      onAbort: (cause) => new NetworkError('unreachable', 'the request was aborted', { cause }),
    },
  )
}

/**
 * The body as text. Where streams exist (browsers, Node) it is read through our own reader, so an
 * abort cancels it directly rather than through the platform's signal wiring (on Node that wiring
 * can be lost to garbage collection: nodejs/undici#3644).
 */
async function readText(response: Response, signal: AbortSignal): Promise<string> {
  const body = response.body
  if (!body || typeof body.getReader !== 'function' || typeof TextDecoder !== 'function') return response.text()
  const reader = body.getReader()
  const cancel = () => void reader.cancel().catch(() => undefined)
  if (signal.aborted) {
    cancel()
    throw new NetworkError('unreachable', 'the request was aborted')
  }
  signal.addEventListener('abort', cancel, { once: true })
  try {
    const decoder = new TextDecoder()
    let text = ''
    let size = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (signal.aborted) throw new NetworkError('unreachable', 'the request was aborted')
      if (done) return text + decoder.decode()
      size += value.byteLength
      if (size > MAX_ANSWER_BYTES) {
        cancel()
        throw new NetworkError('malformed_response', `the answer exceeded ${MAX_ANSWER_BYTES} bytes`, { status: response.status })
      }
      text += decoder.decode(value, { stream: true })
    }
  } catch (cause) {
    if (cause instanceof NetworkError) throw cause
    throw new NetworkError('unreachable', 'the connection failed while the answer was read', { cause })
  } finally {
    signal.removeEventListener('abort', cancel)
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
