import { createHash } from 'node:crypto'
import { EmbeddedJWK, calculateJwkThumbprint, errors, jwtVerify, type FlattenedJWSInput, type JWK, type JWSHeaderParameters } from 'jose'
import { BoundedMap } from '../bounded-map.js'
import { normalizeHtu } from './htu.js'
import type { DpopNonces } from './nonce.js'

/**
 * DPoP proof verification, RFC 9449 §4.3. A proof is checked against the request it came with;
 * any failure throws DpopError with the RFC's error code and a description that carries no token
 * or proof material.
 */

/** RFC 9449 §5.1 / §7.1: asymmetric algorithms only; this server accepts these two. */
export const DPOP_ALGS = ['ES256', 'EdDSA'] as const

/** Oldest accepted proof, seconds before now (§4.3 check 11 / §11.1: "a relatively brief period"). */
export const DPOP_MAX_AGE = 60
/** Clock skew tolerated both ways (a proof `iat` up to this far in the future, or older than the window by this much). */
export const DPOP_SKEW = 5

/** The JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce'

export class DpopError extends Error {
  override name = 'DpopError'
  constructor(
    readonly code: DpopErrorCode,
    message: string,
  ) {
    super(message)
  }
}

/** Records each proof's `jti` once; `use` is false when it was already recorded (a replay). */
export interface JtiStore {
  use(key: string, expiresAt: Date, now: Date): Promise<boolean>
}

export interface ProofRequest {
  /** The request's method (compared with `htm`, case-sensitively as RFC 9110 methods are). */
  method: string
  /** The request's URI as this server's clients address it (compared with `htu` after normalisation). */
  url: string
  /** An access token presented with the proof: `ath` must then be its hash (§4.3 check 12, §7.1). */
  accessToken?: string | undefined
  /** A server nonce is required (§8). */
  nonce?: boolean | undefined
}

export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint (base64url) of the proof's public key: the binding. */
  jkt: string
}

const invalid = (m: string) => new DpopError('invalid_dpop_proof', m)
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** base64url(SHA-256(ASCII access token)): the `ath` claim (§4.2). */
export const accessTokenHash = (token: string) => createHash('sha256').update(token, 'ascii').digest('base64url')

/**
 * §4.3 checks 6–7 with jose's EmbeddedJWK (a JSON object, a public key, `use`/`alg` consistent with
 * the header), remembered per `alg` and exact JWK: a client signs every proof with one key, and
 * importing it is more than half the cost of a proof check. The same alg and JWK always give the
 * same key and pass the same checks, so a hit skips nothing. Bounded: a flood of keys only evicts.
 */
const embeddedKeys = new BoundedMap<string, Awaited<ReturnType<typeof EmbeddedJWK>>>(10_000)
async function embeddedKey(protectedHeader: JWSHeaderParameters, token: FlattenedJWSInput) {
  const id = `${String(protectedHeader.alg)}.${JSON.stringify(protectedHeader.jwk)}`
  const known = embeddedKeys.touch(id)
  if (known) return known
  const key = await EmbeddedJWK(protectedHeader, token)
  embeddedKeys.set(id, key)
  return key
}

export class DpopProofVerifier {
  constructor(
    private readonly o: {
      jtis: JtiStore
      /** Needed only where proofs must carry a server nonce. */
      nonces?: DpopNonces
      now: () => Date
    },
  ) {}

  /**
   * The §4.3 checks, in its order: one well-formed JWT (1–3), `typ` dpop+jwt (4), an allowlisted
   * asymmetric `alg` (5), a signature by the public key in `jwk` (6–7: a private key is refused),
   * `htm` (8), `htu` (9), `nonce` when required (10), `iat` in the window (11), `ath` when an access
   * token is presented (12); then `jti` once within the window across every process sharing the
   * store (§11.1). `header` is the raw `DPoP` header: two headers arrive joined by a comma, which
   * no compact JWS contains, so they are refused as §4.3 check 1 asks ("not more than one").
   */
  async verify(header: string | undefined, req: ProofRequest): Promise<VerifiedProof> {
    if (header === undefined || header === '') throw invalid('a DPoP proof is required')
    if (header.length > 8192 || !COMPACT_JWS.test(header)) throw invalid('the DPoP header must be exactly one proof (a compact JWS)')
    const now = this.o.now()
    let protectedHeader: Record<string, unknown>
    let payload: Record<string, unknown>
    try {
      const headerPart = JSON.parse(Buffer.from(header.split('.')[0]!, 'base64url').toString('utf8')) as unknown
      if (!headerPart || typeof headerPart !== 'object') throw invalid('malformed proof header')
      const jwk = (headerPart as { jwk?: unknown }).jwk
      if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) throw invalid('the proof has no public key (jwk)')
      // §4.3 check 7: the header must not hold a private key; refused before anything imports it.
      if (PRIVATE_MEMBERS.some((m) => m in jwk)) throw invalid('the proof key must be a public key')
      const r = await jwtVerify(header, embeddedKey, { typ: 'dpop+jwt', algorithms: [...DPOP_ALGS], currentDate: now })
      protectedHeader = r.protectedHeader as Record<string, unknown>
      payload = r.payload as Record<string, unknown>
    } catch (e) {
      if (e instanceof DpopError) throw e
      if (e instanceof errors.JOSEAlgNotAllowed) throw invalid(`the proof algorithm must be one of ${DPOP_ALGS.join(', ')}`)
      if (e instanceof errors.JWTClaimValidationFailed && e.claim === 'typ') throw invalid('the proof typ must be dpop+jwt')
      if (e instanceof errors.JWSSignatureVerificationFailed) throw invalid('the proof signature is invalid')
      if (e instanceof errors.JOSEError || e instanceof SyntaxError || e instanceof TypeError) throw invalid('malformed DPoP proof')
      throw e
    }
    const { htm, htu, iat, jti, ath, nonce } = payload
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw invalid('the proof needs a jti')
    if (htm !== req.method) throw invalid('the proof htm does not match the request method')
    const expected = normalizeHtu(req.url)
    if (expected === undefined || normalizeHtu(htu) !== expected) throw invalid('the proof htu does not match the request URI')
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('the proof needs an iat')
    const nowS = now.getTime() / 1000
    if (iat > nowS + DPOP_SKEW) throw invalid('the proof iat is in the future')
    if (iat < nowS - DPOP_MAX_AGE - DPOP_SKEW) throw invalid('the proof is too old (iat)')
    if (req.accessToken !== undefined) {
      if (typeof ath !== 'string') throw invalid('the proof needs ath (the access token hash)')
      if (ath !== accessTokenHash(req.accessToken)) throw invalid('the proof ath does not match the access token')
    }
    // §8: the nonce check comes after the others, so a client told `use_dpop_nonce` knows its
    // proof was otherwise good, and a bad proof never earns a nonce-only answer.
    if (req.nonce && !this.o.nonces?.accepts(nonce, now)) throw new DpopError('use_dpop_nonce', 'the authorization server requires a DPoP nonce')
    const jkt = await calculateJwkThumbprint(protectedHeader.jwk as JWK, 'sha256')
    // §11.1: the jti is remembered as long as a proof carrying it could still be accepted (its iat
    // window), keyed by the key that signed it (another key's proof cannot spend this one's jti).
    const expiresAt = new Date((iat + DPOP_MAX_AGE + 2 * DPOP_SKEW) * 1000)
    const key = createHash('sha256').update(`${jkt}.${jti}`).digest('base64url')
    if (!(await this.o.jtis.use(key, expiresAt, now))) throw invalid('the proof was already used (jti)')
    return { jkt }
  }
}
