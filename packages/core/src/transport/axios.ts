import { isResourceProofRefusal } from '../dpop/proof.js'
import type { Credential, TokenSource } from './fetch.js'
import { authorizationHeader, signerFor } from './fetch.js'

/** The slice of an axios instance this adapter touches (typed structurally; axios is not imported). */
export interface AxiosLike<C extends object = AxiosConfigLike, R = unknown> {
  interceptors: {
    request: { use(onFulfilled: (config: C) => C | Promise<C>): number; eject(id: number): void }
    response: {
      use(onFulfilled: (response: R) => R | Promise<R>, onRejected: (error: unknown) => unknown): number
      eject(id: number): void
    }
  }
  /** Called with the config axios handed to the interceptors, to replay it. */
  request(config: never): Promise<unknown>
}

export interface AxiosConfigLike {
  headers?: { set?(name: string, value: string): unknown; [name: string]: unknown }
  url?: string
  baseURL?: string
  /** axios ≥ 1.8: `false` joins even an absolute `url` to `baseURL`. */
  allowAbsoluteUrls?: boolean
  method?: string
}

type LatchkeyConfig = AxiosConfigLike & { __latchkeyRetried?: boolean; __latchkeyNonceRetried?: boolean; __latchkeyToken?: string; __latchkeyTokenType?: string }

interface AxiosErrorLike {
  config?: LatchkeyConfig
  response?: { status?: number; headers?: Record<string, unknown> }
}

function setHeader(config: AxiosConfigLike, name: string, value: string) {
  const headers = config.headers ?? (config.headers = {})
  if (typeof headers.set === 'function') headers.set(name, value)
  else headers[name] = value
}

/** The URL axios will request, as its `buildFullPath` makes it (the params do not change the origin). */
function requestUrl(config: AxiosConfigLike): string {
  const url = config.url ?? ''
  const absolute = /^([a-z][a-z\d+\-.]*:)?\/\//i.test(url)
  if (config.baseURL && (!absolute || config.allowAbsoluteUrls === false)) {
    return url ? `${config.baseURL.replace(/\/?\/$/, '')}/${url.replace(/^\/+/, '')}` : config.baseURL
  }
  return url
}

/**
 * Adds the access token to every request of `instance` to the token's origins (`tokenOrigins`)
 * and replays a 401 once after the one refresh (same rules as `client.fetch`). A request to any
 * other origin goes out without the token, and its 401 is the caller's (RFC 6750 §5.3). Axios
 * keeps the request body in its config, so the replay resends it unchanged. Returns a function
 * that removes both interceptors.
 */
export function attachAxiosToSource<C extends object, R>(source: TokenSource, instance: AxiosLike<C, R>): () => void {
  const requestId = instance.interceptors.request.use(async (config) => {
    const c = config as C & LatchkeyConfig
    delete c.__latchkeyToken
    const url = requestUrl(c)
    if (!source.sendsTo(url)) return config
    const credential = await source.get()
    c.__latchkeyToken = credential.accessToken
    c.__latchkeyTokenType = credential.tokenType
    setHeader(c, 'Authorization', authorizationHeader(credential))
    // RFC 9449 §7.1: a new proof for every send (replays included), bound to the token by `ath`.
    const signer = await signerFor(source, credential)
    if (signer) setHeader(c, 'DPoP', await signer.proof(c.method ?? 'get', url, { accessToken: credential.accessToken }))
    return config
  })
  /** RFC 9449 §8.2: remember a DPoP-Nonce from any answer to a bound request. */
  const learn = async (config: LatchkeyConfig | undefined, headers: Record<string, unknown> | undefined): Promise<boolean> => {
    if (!config || config.__latchkeyToken === undefined || !headers) return false
    const signer = await signerFor(source, { accessToken: config.__latchkeyToken, tokenType: config.__latchkeyTokenType ?? 'Bearer' }).catch(() => null)
    return signer?.learn(requestUrl(config), headers) ?? false
  }
  const responseId = instance.interceptors.response.use(
    async (response) => {
      const r = response as { config?: LatchkeyConfig; headers?: Record<string, unknown> }
      await learn(r.config, r.headers)
      return response
    },
    async (error: unknown) => {
      const { config, response } = (error ?? {}) as AxiosErrorLike
      // No token of ours went with it (another origin): nothing to refresh or replay.
      if (!config || response?.status !== 401 || config.__latchkeyToken === undefined) throw error
      const changed = await learn(config, response.headers)
      if (config.__latchkeyTokenType?.toLowerCase() === 'dpop' && isResourceProofRefusal(401, response.headers)) {
        // The proof was refused, not the token: a refresh would not help. Once more only with a
        // new nonce or a corrected clock; else the caller gets the error.
        if (config.__latchkeyNonceRetried || !changed) throw error
        // RFC 9449 §9: once more with the server's nonce (the request interceptor signs a new proof).
        config.__latchkeyNonceRetried = true
        return instance.request(config as never)
      }
      if (config.__latchkeyRetried) throw error
      const sent: Credential = { accessToken: config.__latchkeyToken ?? '', tokenType: config.__latchkeyTokenType ?? 'Bearer' }
      const current = source.peek()
      if (!current || current.accessToken === sent.accessToken) await source.renew(sent)
      config.__latchkeyRetried = true
      // The request interceptor runs again on replay and attaches the current token.
      return instance.request(config as never)
    },
  )
  return () => {
    instance.interceptors.request.eject(requestId)
    instance.interceptors.response.eject(responseId)
  }
}
