import { base64Url, sha256, utf8 } from './sha256.js'

/**
 * A DPoP key (RFC 9449), as the core sees it: the public half and a way to sign. The private
 * half stays with whoever made the key (a native module, WebCrypto, a secure-store record), so
 * the core needs no platform crypto.
 */
export interface DpopKey {
  /** The JWS algorithm of `sign` (RFC 7518): `ES256` (P-256, signature `r‖s`, §3.4) or `EdDSA` (RFC 8037). */
  readonly alg: string
  /** The public key as a JWK with its public members only (RFC 9449 §4.2: never a private key). */
  readonly publicJwk: Readonly<Record<string, string>>
  /** RFC 7638 thumbprint of `publicJwk`; computed when absent. */
  readonly thumbprint?: string
  /** Signs the JWS signing input (RFC 7515 §5.1) and resolves with the raw JWS signature. */
  sign(signingInput: Uint8Array): Promise<Uint8Array>
}

/**
 * Where a session's DPoP key lives: one key per session, generated for a sign-in, saved when that
 * sign-in succeeds with a bound token, deleted on sign-out. `@latchkey/expo` has one for native
 * (P-256 in the secure store) and one for the web (a non-extractable WebCrypto key in IndexedDB).
 */
export interface DpopKeyStore {
  /** A new key, not yet saved (the sign-in it is for may fail). */
  generate(): Promise<DpopKey>
  /** The saved key, or null. */
  load(): Promise<DpopKey | null>
  /** Saves a key `generate` made, replacing any other. */
  save(key: DpopKey): Promise<void>
  delete(): Promise<void>
  /** Cryptographically random bytes for `jti`; default `crypto.getRandomValues`. */
  randomBytes?(length: number): Uint8Array
}

/** A store that always hands out one key you made (a test, a server-side client, a key held elsewhere). */
export function staticDpopKey(key: DpopKey): DpopKeyStore {
  return { generate: async () => key, load: async () => key, save: async () => undefined, delete: async () => undefined }
}

/** The members RFC 7638 §3.2 hashes, per key type, in lexicographic order. */
const REQUIRED_MEMBERS: Record<string, readonly string[]> = { EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'], RSA: ['e', 'kty', 'n'] }
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']

/** RFC 7638 JWK thumbprint (SHA-256, base64url): the value of `cnf.jkt` (RFC 9449 §6.1). */
export function jwkThumbprint(jwk: Readonly<Record<string, string>>): string {
  const members = REQUIRED_MEMBERS[jwk.kty ?? '']
  if (!members) throw new TypeError(`DPoP: unsupported JWK kty ${JSON.stringify(jwk.kty)}`)
  const canonical = `{${members.map((m) => {
    if (typeof jwk[m] !== 'string') throw new TypeError(`DPoP: the public JWK has no ${m}`)
    return `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`
  }).join(',')}}`
  return base64Url(sha256(utf8(canonical)))
}

/** The key as the proofs will carry it: checked once, thumbprint computed. */
export function checkedKey(key: DpopKey): DpopKey & { thumbprint: string } {
  if (!key || typeof key.sign !== 'function' || typeof key.alg !== 'string' || typeof key.publicJwk !== 'object') {
    throw new TypeError('DPoP: a key needs alg, publicJwk and sign()')
  }
  if (key.alg === 'none' || key.alg.startsWith('HS')) throw new TypeError(`DPoP: ${key.alg} is not an asymmetric algorithm (RFC 9449 §4.2)`)
  for (const m of PRIVATE_MEMBERS) if (m in key.publicJwk) throw new TypeError('DPoP: publicJwk holds private key material')
  return { alg: key.alg, publicJwk: key.publicJwk, thumbprint: key.thumbprint ?? jwkThumbprint(key.publicJwk), sign: (input) => key.sign(input) }
}
