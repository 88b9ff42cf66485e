import type { Kysely } from 'kysely'
import type { AccessTokenClaims } from '../crypto/jwt.js'
import type { Database } from '../db/schema.js'
import { HttpError } from '../http/errors.js'
import { DatabaseJtiStore } from './jti-store.js'
import { DpopNonces } from './nonce.js'
import { DPOP_ALGS, DPOP_MAX_AGE, DpopError, DpopProofVerifier, type JtiStore } from './proof.js'

/** An access token as a request presented it (RFC 6750 §2.1 `Bearer`, RFC 9449 §7.1 `DPoP`). */
export interface AccessCredentials {
  token: string | undefined
  scheme: 'Bearer' | 'DPoP'
  /** The request's raw `DPoP` header. */
  proof?: string | undefined
  /** The request's method and its URI as clients address it (for `htm` / `htu`). */
  method?: string | undefined
  url?: string | undefined
}

/** Nonces are valid for one to two of these steps (RFC 9449 §8: rotated with no per-client state). */
export const DPOP_NONCE_STEP = DPOP_MAX_AGE

/** RFC 9449 §7.1: the `algs` of the DPoP challenge. */
const ALGS = DPOP_ALGS.join(' ')

const quoted = (s: string) => s.replace(/["\\]/g, '')

/**
 * RFC 9449 §7.1 challenge: 401 with `WWW-Authenticate: DPoP error=..., algs=...`; for
 * `use_dpop_nonce` (§9) with the nonce to use in `DPoP-Nonce`.
 */
export function dpopChallenge(error: 'invalid_token' | 'invalid_dpop_proof' | 'use_dpop_nonce', description: string, nonce?: string): HttpError {
  return new HttpError(401, error, description, {
    'WWW-Authenticate': `DPoP error="${error}", error_description="${quoted(description)}", algs="${ALGS}"`,
    ...(nonce ? { 'DPoP-Nonce': nonce } : {}),
  })
}

/**
 * The server side of DPoP (RFC 9449): proofs checked against the request, `jti`s single use
 * across every process on the database, stateless nonces under a key derived from the server's
 * secret (so every process accepts every other's), and the key binding of access tokens.
 */
export class DpopBinding {
  readonly nonces: DpopNonces
  readonly verifier: DpopProofVerifier
  readonly requireNonce: boolean
  readonly #issuer: string
  readonly #now: () => Date

  constructor(o: { db: Kysely<Database>; serverKey: Buffer; issuer: string; now: () => Date; requireNonce: boolean; jtis?: JtiStore }) {
    this.nonces = new DpopNonces(o.serverKey, DPOP_NONCE_STEP)
    this.verifier = new DpopProofVerifier({ jtis: o.jtis ?? new DatabaseJtiStore(o.db), nonces: this.nonces, now: o.now })
    this.requireNonce = o.requireNonce
    this.#issuer = o.issuer.replace(/\/+$/, '')
    this.#now = o.now
  }

  /**
   * The URI clients address `path` by: the issuer followed by the path, as the metadata names the
   * endpoints (`${issuer}/oauth/token`). Not the Host header: a proof made for another server must
   * not pass here because a request claimed to be for it (§4.3 check 9, §11.1).
   */
  url(path: string): string {
    return `${this.#issuer}${path}`
  }

  /** A fresh nonce, for the `DPoP-Nonce` header of token-endpoint answers (§8.2). */
  nonce(): string {
    return this.nonces.current(this.#now())
  }

  /** 400 `invalid_dpop_proof` at a token endpoint (sign-up, sign-in, /oauth/token; RFC 9449 §5). */
  tokenEndpointError(description: string): HttpError {
    return new HttpError(400, 'invalid_dpop_proof', description)
  }

  /**
   * A token request's DPoP proof (sign-up, sign-in, refresh, revocation): undefined without a
   * `DPoP` header (a bearer request); the key thumbprint of a valid proof; otherwise 400
   * `invalid_dpop_proof`, or `use_dpop_nonce` (§8) with the nonce to use.
   */
  async tokenRequestProof(header: string | undefined, method: string, path: string): Promise<string | undefined> {
    if (header === undefined) return undefined
    try {
      return (await this.verifier.verify(header, { method, url: this.url(path), nonce: this.requireNonce })).jkt
    } catch (e) {
      if (!(e instanceof DpopError)) throw e
      if (e.code === 'use_dpop_nonce') throw new HttpError(400, 'use_dpop_nonce', e.message, { 'DPoP-Nonce': this.nonce() })
      throw this.tokenEndpointError(e.message)
    }
  }

  /** RFC 9449 §7.1 at this server's protected endpoints; see `checkDpopBinding`. */
  checkBinding(claims: AccessTokenClaims, creds: AccessCredentials): Promise<void> {
    return checkDpopBinding(this.verifier, claims, creds)
  }
}

/**
 * RFC 9449 §7.1 at a protected resource, after the token itself was verified:
 * - a bound token (`cnf.jkt`) needs the `DPoP` scheme and a valid proof by that same key with
 *   `ath`; sent as `Bearer` it is refused (§7.1: a DPoP-bound token must not be accepted as a
 *   bearer token, else binding would protect nothing against a thief who downgrades the scheme);
 * - an unbound token sent with the `DPoP` scheme is refused (`invalid_token`): the scheme claims a
 *   binding the token does not have, and accepting it would let a bearer token pass as bound
 *   (§7.2 lets a resource accept a DPoP header beside a `Bearer` token; here that header is then
 *   ignored, as an RFC 6750 resource would: the token is a bearer token and is treated as one).
 */
export async function checkDpopBinding(verifier: DpopProofVerifier, claims: AccessTokenClaims, creds: AccessCredentials): Promise<void> {
  const jkt = claims.cnf?.jkt
  if (jkt === undefined) {
    if (creds.scheme === 'DPoP') throw dpopChallenge('invalid_token', 'the access token is not DPoP-bound; send it as a Bearer token')
    return
  }
  if (typeof jkt !== 'string') throw dpopChallenge('invalid_token', 'the access token has an invalid confirmation claim')
  if (creds.scheme !== 'DPoP') throw dpopChallenge('invalid_token', 'the access token is DPoP-bound: use the DPoP authorization scheme with a proof')
  if (creds.method === undefined || creds.url === undefined) throw dpopChallenge('invalid_dpop_proof', 'no DPoP proof can be checked here')
  let proofJkt: string
  try {
    proofJkt = (await verifier.verify(creds.proof, { method: creds.method, url: creds.url, accessToken: creds.token })).jkt
  } catch (e) {
    if (!(e instanceof DpopError)) throw e
    throw dpopChallenge(e.code, e.message)
  }
  if (proofJkt !== jkt) throw dpopChallenge('invalid_dpop_proof', 'the DPoP proof is not signed by the key the access token is bound to')
}
