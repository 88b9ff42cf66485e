import type { FetchLike } from '../env/ambient.js'

export interface Credential {
  accessToken: string
  tokenType: string
}

/** What the transport needs from the session engine. */
export interface TokenSource {
  /** A token that is valid by our clock, refreshing first if needed. */
  get(): Promise<Credential>
  /** The token in memory right now, without refreshing. */
  peek(): Credential | null
  /** The server refused `stale`: join or start the one refresh, unless it was already replaced. */
  renew(stale: Credential): Promise<Credential>
}

/** RFC 6750 §2.1: `Authorization: Bearer <token>`; the scheme name is case-insensitive on the wire. */
export function authorizationHeader(credential: Credential): string {
  const scheme = credential.tokenType.toLowerCase() === 'bearer' ? 'Bearer' : credential.tokenType
  return `${scheme} ${credential.accessToken}`
}

function withAuthorization(request: Request, credential: Credential): Request {
  const headers = new Headers(request.headers)
  headers.set('Authorization', authorizationHeader(credential))
  return new Request(request, { headers })
}

/**
 * fetch with the access token. A 401 (RFC 6750 §3.1 invalid_token) for the token it was sent
 * with triggers or joins the one refresh and is replayed once; if the token changed while the
 * request was in flight it is replayed with the current token, no refresh. A second 401 is
 * returned to the caller. The request is cloned before the first send, so its body (string,
 * JSON, FormData, URLSearchParams, Blob) is replayed intact.
 */
export function createAuthFetch(source: TokenSource, fetchImpl: FetchLike) {
  return async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const original = new Request(input, init)
    const spare = original.clone()
    const sent = await source.get()
    const response = await fetchImpl(withAuthorization(original, sent))
    if (response.status !== 401) return response
    // Free the connection; the caller never sees this response.
    void response.body?.cancel().catch(() => undefined)
    const current = source.peek()
    const next = current && current.accessToken !== sent.accessToken ? current : await source.renew(sent)
    return fetchImpl(withAuthorization(spare, next))
  }
}
