import { NetworkError, TimeoutError } from '../errors/errors.js'
import { globalFetch, systemTimers, type FetchLike, type Timers } from '../env/ambient.js'

export interface EndpointOptions {
  clientId?: string
  fetch?: FetchLike
  headers?: Record<string, string>
  /** `'include'` sends the httpOnly refresh cookie cross-origin on the web. */
  credentials?: RequestCredentials
  /** Per request; default 15 000 ms. */
  timeoutMs?: number
  timers?: Timers
}

/** POSTs an application/x-www-form-urlencoded body; network failures and timeouts become typed errors. */
export async function postForm(
  url: string,
  form: URLSearchParams,
  options: EndpointOptions,
  signal: AbortSignal | undefined,
): Promise<Response> {
  const fetchImpl = options.fetch ?? globalFetch()
  const timers = options.timers ?? systemTimers()
  const timeoutMs = options.timeoutMs ?? 15_000
  const controller = new AbortController()
  let timedOut = false
  const timer = timers.setTimeout(() => {
    timedOut = true
    controller.abort()
  }, timeoutMs)
  const onAbort = () => controller.abort()
  signal?.addEventListener('abort', onAbort)
  if (signal?.aborted) controller.abort()
  try {
    const init: RequestInit = {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', ...options.headers },
      body: form.toString(),
      signal: controller.signal,
    }
    if (options.credentials) init.credentials = options.credentials
    return await fetchImpl(url, init)
  } catch (cause) {
    if (timedOut) throw new TimeoutError(timeoutMs)
    throw new NetworkError('unreachable', 'could not reach the authorization server', { cause })
  } finally {
    timers.clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}

export async function readJson(response: Response): Promise<unknown> {
  try {
    return JSON.parse(await response.text())
  } catch {
    return undefined
  }
}
