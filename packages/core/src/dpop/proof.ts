import type { Clock } from '../env/ambient.js'
import { checkedKey, type DpopKey } from './key.js'
import { base64Url, sha256, utf8 } from './sha256.js'

/** Headers as fetch and axios give them. */
export type HeadersLike = Headers | { get?(name: string): unknown; [name: string]: unknown } | null | undefined

/**
 * Proofs for one key, and the server nonces (RFC 9449 §8) learned so far, per origin. Handed to a
 * refresh or revoke function in its context (`ctx.dpop`) when the session is bound, so a custom
 * function can prove possession the same way `oauth2Refresh` does.
 */
export interface DpopSigner {
  /** The key's RFC 7638 thumbprint (`cnf.jkt`). */
  readonly thumbprint: string
  /**
   * A DPoP proof JWT (RFC 9449 §4.2) for `htm` on `url`: a fresh `jti` every call, `htu` without
   * query and fragment, `iat` now, the origin's nonce when one was learned, and `ath` when the
   * request carries `accessToken`.
   */
  proof(htm: string, url: string, options?: { accessToken?: string }): Promise<string>
  /**
   * Remembers what an answer from `url`'s origin says about the next proof: its `DPoP-Nonce`
   * (§8.1, §9), and its `Date`, when the device clock is far from the server's (§11.1: `iat` is
   * checked against the server's clock). True when the next proof to that origin will differ
   * (a new nonce, a corrected clock): only then is a refused proof worth one more try.
   */
  learn(url: string, headers: HeadersLike): boolean
}

export interface ProofClaims {
  jti: string
  htm: string
  htu: string
  iat: number
  nonce?: string
  ath?: string
}

/** RFC 9449 §4.2: `htu` is the target URI without query and fragment. */
export function htuOf(url: string): string {
  let absolute = url
  try {
    absolute = new URL(url).href
  } catch {
    // relative on a platform without a base: keep what we were given
  }
  const cut = absolute.search(/[?#]/)
  return cut < 0 ? absolute : absolute.slice(0, cut)
}

function originKey(url: string): string {
  const match = /^([a-z][a-z\d+\-.]*:\/\/[^/?#]*)/i.exec(htuOf(url))
  return (match?.[1] ?? url).toLowerCase()
}

/** `ath`: base64url of the SHA-256 of the access token's ASCII bytes (RFC 9449 §4.2). */
export const accessTokenHash = (accessToken: string): string => base64Url(sha256(utf8(accessToken)))

const encodeJson = (value: unknown) => base64Url(utf8(JSON.stringify(value)))

function headerValue(headers: HeadersLike, name: string): string | undefined {
  if (!headers) return undefined
  const viaGet = typeof headers.get === 'function' ? (headers.get as (n: string) => unknown).call(headers, name) : undefined
  const value = viaGet ?? (headers as Record<string, unknown>)[name.toLowerCase()] ?? (headers as Record<string, unknown>)[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}

export const dpopNonceOf = (headers: HeadersLike): string | undefined => headerValue(headers, 'DPoP-Nonce')

/** A resource server refused the proof itself (RFC 9449 §7.1): 401 with `WWW-Authenticate: DPoP error="invalid_dpop_proof"` or `use_dpop_nonce`. */
export function isResourceProofRefusal(status: number | undefined, headers: HeadersLike): boolean {
  if (status !== 401) return false
  return /error\s*=\s*"?(use_dpop_nonce|invalid_dpop_proof)"?/i.test(headerValue(headers, 'WWW-Authenticate') ?? '')
}

function defaultRandomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  const crypto = (globalThis as { crypto?: { getRandomValues?(a: Uint8Array): Uint8Array } }).crypto
  if (typeof crypto?.getRandomValues !== 'function') {
    throw new TypeError('DPoP: no crypto.getRandomValues on this platform; give the key store a randomBytes()')
  }
  return crypto.getRandomValues(bytes)
}

/**
 * A device clock this far from the server's is corrected in `iat`; closer, the HTTP `Date`
 * (whole seconds, read after the network's delay) is not precise enough to improve on it.
 */
export const CLOCK_SKEW_TOLERANCE_MS = 30_000

/**
 * What one client learned from each server, per origin (RFC 9449 §8: each server chooses its
 * own nonces): the latest nonce, and how far the device's wall clock is from the server's.
 */
export function createNonceMemory() {
  const nonces = new Map<string, string>()
  const skews = new Map<string, number>()
  return {
    get: (url: string) => nonces.get(originKey(url)),
    /** Milliseconds to add to the device clock for `iat` at this origin (0 when close enough). */
    skew: (url: string) => skews.get(originKey(url)) ?? 0,
    learn(url: string, headers: HeadersLike, deviceNow?: number): boolean {
      const origin = originKey(url)
      let changed = false
      const nonce = dpopNonceOf(headers)
      if (nonce !== undefined && nonces.get(origin) !== nonce) {
        nonces.set(origin, nonce)
        changed = true
      }
      const serverNow = deviceNow === undefined ? NaN : Date.parse(headerValue(headers, 'Date') ?? '')
      if (Number.isFinite(serverNow)) {
        const skew = serverNow - deviceNow!
        const before = skews.get(origin) ?? 0
        if (Math.abs(skew) > CLOCK_SKEW_TOLERANCE_MS) {
          // Only a correction that moves iat by more than the tolerance counts as a change.
          if (Math.abs(skew - before) > CLOCK_SKEW_TOLERANCE_MS) {
            skews.set(origin, skew)
            changed = true
          }
        } else if (before !== 0) {
          skews.delete(origin)
          changed = true
        }
      }
      return changed
    },
    clear: () => {
      nonces.clear()
      skews.clear()
    },
  }
}
export type NonceMemory = ReturnType<typeof createNonceMemory>

/** A signer for `key`: proofs per RFC 9449 §4.2, `iat` from `clock` (seconds), nonces from `nonces`. */
export function createDpopSigner(
  key: DpopKey,
  deps: { clock: Clock; nonces: NonceMemory; randomBytes?: (length: number) => Uint8Array },
): DpopSigner {
  const k = checkedKey(key)
  const header = encodeJson({ typ: 'dpop+jwt', alg: k.alg, jwk: k.publicJwk })
  const random = deps.randomBytes ?? defaultRandomBytes
  return {
    thumbprint: k.thumbprint,
    async proof(htm, url, options = {}) {
      const claims: ProofClaims = {
        jti: base64Url(random(16)),
        htm: htm.toUpperCase(),
        htu: htuOf(url),
        iat: Math.floor((deps.clock.now() + deps.nonces.skew(url)) / 1000),
      }
      const nonce = deps.nonces.get(url)
      if (nonce !== undefined) claims.nonce = nonce
      if (options.accessToken !== undefined) claims.ath = accessTokenHash(options.accessToken)
      const signingInput = `${header}.${encodeJson(claims)}`
      const signature = await k.sign(utf8(signingInput))
      return `${signingInput}.${base64Url(signature)}`
    },
    learn: (url, headers) => deps.nonces.learn(url, headers, deps.clock.now()),
  }
}
