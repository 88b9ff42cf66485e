import type { FetchLike } from '../env/ambient.js'
import { unlessAborted } from '../env/deadline.js'
import { isDpopBound } from '../dpop/session-keys.js'
import { isResourceProofRefusal, type DpopSigner } from '../dpop/proof.js'

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
  /**
   * Whether a request to `url` may carry the token (`tokenOrigins`; RFC 6750 §5.3). Throws a
   * TypeError when the client was not told where its token may go.
   */
  sendsTo(url: string): boolean
  /** The signer of the session's DPoP key (RFC 9449), for credentials whose token type is `DPoP`. */
  dpop?(): Promise<DpopSigner>
}

/** The signer for `credential`: null for a bearer token. */
export async function signerFor(source: TokenSource, credential: Credential): Promise<DpopSigner | null> {
  if (!isDpopBound(credential.tokenType)) return null
  if (!source.dpop) throw new TypeError('the session holds a DPoP-bound token but the client has no `dpop` key store')
  return source.dpop()
}

/**
 * RFC 6750 §2.1: `Authorization: Bearer <token>`; RFC 9449 §7.1: `Authorization: DPoP <token>`.
 * The scheme name is case-insensitive on the wire.
 */
export function authorizationHeader(credential: Credential): string {
  const type = credential.tokenType.toLowerCase()
  const scheme = type === 'bearer' ? 'Bearer' : type === 'dpop' ? 'DPoP' : credential.tokenType
  return `${scheme} ${credential.accessToken}`
}

/**
 * Sets the headers on a Request this module built (never on the caller's own object): the token
 * and, for a DPoP-bound one, a new proof for this very request (RFC 9449 §7.1: `ath` binds it to
 * the token; a fresh `jti` every time, so a replay is never a reused proof).
 */
async function authorize(request: Request, credential: Credential, signer: DpopSigner | null): Promise<Request> {
  request.headers.set('Authorization', authorizationHeader(credential))
  if (signer) request.headers.set('DPoP', await signer.proof(request.method, request.url, { accessToken: credential.accessToken }))
  return request
}

/**
 * fetch with the access token. A 401 (RFC 6750 §3.1 invalid_token) for the token it was sent
 * with triggers or joins the one refresh and is replayed once; if the token changed while the
 * request was in flight it is replayed with the current token, no refresh. A second 401 is
 * returned to the caller. A request with a body is cloned before the first send, so its body
 * (string, JSON, FormData, URLSearchParams, Blob, stream) is replayed intact; one without a body
 * is rebuilt from the caller's arguments only if a replay is needed (one Request per call on the
 * common path).
 *
 * The caller's AbortSignal holds for the whole call: while a token is obtained (the call rejects
 * at once, the shared refresh goes on for the others) and while the body is read. It is handed to
 * fetch in `init` as well as inside the Request: on Node, a Request's own signal follows the
 * caller's through a weak reference that garbage collection drops once the Request is
 * unreachable (nodejs/undici#3644), and a stalled body would then ignore the abort.
 *
 * Only requests to the token's origins (`source.sendsTo`) get the token. Any other request goes
 * out as the caller built it: no Authorization from us, no refresh, its 401 is the caller's
 * (RFC 6750 §5.3: a bearer token is not handed to parties that are not meant to receive it).
 */
export function createAuthFetch(source: TokenSource, fetchImpl: FetchLike) {
  return async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const signal = init?.signal ?? (input instanceof Request ? input.signal : null)
    const send = (request: Request) => (signal ? fetchImpl(request, { signal }) : fetchImpl(request))
    const first = new Request(input, init)
    if (!source.sendsTo(first.url)) return send(first)
    const sent = await unlessAborted(source.get(), signal)
    const signer = await signerFor(source, sent)
    // A DPoP request may be sent three times: once, once more with the server's nonce, once after a refresh.
    const spares = first.body === null ? [] : signer ? [first.clone(), first.clone()] : [first.clone()]
    const again = () => spares.shift() ?? new Request(input, init)
    const exchange = async (request: Request, credential: Credential, proofBy: DpopSigner | null) => {
      const url = request.url
      const response = await send(await authorize(request, credential, proofBy))
      // RFC 9449 §8.2: a DPoP-Nonce on any answer replaces the one we hold for that server.
      return { response, changed: proofBy?.learn(url, response.headers) ?? false }
    }
    const sentFirst = await exchange(first, sent, signer)
    let response = sentFirst.response
    if (signer && isResourceProofRefusal(response.status, response.headers)) {
      // The proof, not the token, was refused: a refresh would not help. RFC 9449 §9: with a new
      // nonce (or a corrected clock) it is worth once more, with a new proof.
      if (!sentFirst.changed) return response
      void response.body?.cancel().catch(() => undefined)
      ;({ response } = await exchange(again(), sent, signer))
      if (isResourceProofRefusal(response.status, response.headers)) return response
    }
    if (response.status !== 401) return response
    // Free the connection; the caller never sees this response.
    void response.body?.cancel().catch(() => undefined)
    const current = source.peek()
    const next = current && current.accessToken !== sent.accessToken ? current : await unlessAborted(source.renew(sent), signal)
    return (await exchange(again(), next, await signerFor(source, next))).response
  }
}
