import { decodeProtectedHeader } from 'jose'
import { BoundedMap } from '../bounded-map.js'
import type { AccessTokenClaims } from './jwt.js'

interface Entry {
  claims: AccessTokenClaims
  kid: string
}

/**
 * Access tokens this process has verified, by their exact text, with their claims and the `kid`
 * that verified them (bounded; the oldest entry goes first). The signature of the same bytes
 * under the same key needs no second ECDSA verification (issue 14: it was most of /me's cost once
 * the session row was no longer read); the caller still checks, on every use, that the token has
 * not expired and that its key is still published. Only verified tokens enter, so the set cannot
 * be filled with junk; tokens are never logged.
 */
export class VerifiedTokens {
  readonly #entries: BoundedMap<string, Entry>

  constructor(readonly maxEntries = 10_000) {
    this.#entries = new BoundedMap(maxEntries)
  }

  get(token: string): Entry | undefined {
    return this.#entries.get(token)
  }

  add(token: string, claims: AccessTokenClaims): void {
    const { kid } = decodeProtectedHeader(token)
    if (typeof kid !== 'string') return
    this.#entries.set(token, { claims, kid })
  }

  delete(token: string): void {
    this.#entries.delete(token)
  }
}
