import { createHash, timingSafeEqual } from 'node:crypto'
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { HttpError } from '../http/errors.js'
import { ConfigError } from '../config.js'
import { providerUrl, type IdentityProvider } from './providers.js'

/**
 * Validation of an identity provider's ID token, OpenID Connect Core 1.0 §3.1.3.7 (and §3.2.2.11
 * for the nonce), with jose. Every failure is a 401 `invalid_id_token` (or 503 when the provider's
 * keys cannot be fetched), never a 500; no message carries the token.
 */

/** An ID token longer than this is refused before any parsing (Apple's and Google's are ~1 KB). */
export const MAX_ID_TOKEN_LENGTH = 8192
/** Clock skew accepted on `exp` and `iat` (seconds). */
export const ID_TOKEN_SKEW_SECONDS = 60

export interface VerifiedIdToken {
  provider: IdentityProvider
  subject: string
  /** The email, when the provider says it is verified (`email_verified` true or Apple's "true"). */
  verifiedEmail: string | null
  /** An email was present but not verified. */
  unverifiedEmail: boolean
  /** Apple's private-relay address (`is_private_email`): an email like any other for us. */
  privateEmail: boolean
  /** The client id the token was issued to (its `azp`, or its one `aud`): Apple's code exchange needs it. */
  clientId: string
  /** SHA-256 (base64url) of the whole token: its single-use key. */
  tokenHash: string
  expiresAt: Date
}

const bad = (description: string) => new HttpError(401, 'invalid_id_token', description)

/** `true` or Apple's string "true" (Apple sends booleans of the ID token as strings). */
const truthy = (v: unknown) => v === true || v === 'true'

export interface IdTokenVerifierOptions {
  now: () => Date
  skewSeconds?: number
}

export class IdTokenVerifier {
  readonly #jwks = new Map<string, Promise<JWTVerifyGetKey>>()
  constructor(
    readonly providers: readonly IdentityProvider[],
    readonly o: IdTokenVerifierOptions,
  ) {}

  /**
   * The provider's key set: jose caches it and refetches on an unknown `kid`, at most once per
   * cooldown (the rate limit: a flood of tokens with made-up kids costs one fetch per cooldown).
   * Without a configured JWKS URL, `jwks_uri` comes from the discovery document, whose `issuer`
   * must equal the configured one (OpenID Connect Discovery 1.0 §4.3). A failed discovery is not
   * cached (the next sign-in tries again).
   */
  #keys(p: IdentityProvider): Promise<JWTVerifyGetKey> {
    let keys = this.#jwks.get(p.name)
    if (!keys) {
      const remote = (url: string) => createRemoteJWKSet(new URL(url), { cooldownDuration: p.jwksCooldownSeconds * 1000, cacheMaxAge: 10 * 60 * 1000, timeoutDuration: 5000 })
      keys = p.jwksUri !== null ? Promise.resolve(remote(p.jwksUri)) : discoverJwksUri(p).then(remote)
      keys.catch(() => this.#jwks.delete(p.name))
      this.#jwks.set(p.name, keys)
    }
    return keys
  }

  /** The provider whose issuer list has `iss` exactly (Core §3.1.3.7 step 2). */
  #providerFor(iss: unknown): IdentityProvider | undefined {
    return typeof iss === 'string' ? this.providers.find((p) => p.issuers.includes(iss)) : undefined
  }

  async verify(idToken: unknown, rawNonce: unknown): Promise<VerifiedIdToken> {
    if (typeof idToken !== 'string' || idToken.length === 0) throw new HttpError(400, 'invalid_request', 'id_token must be a non-empty string')
    if (idToken.length > MAX_ID_TOKEN_LENGTH) throw new HttpError(400, 'invalid_request', `id_token is longer than ${MAX_ID_TOKEN_LENGTH} characters`)
    if (typeof rawNonce !== 'string' || rawNonce.length < 16 || rawNonce.length > 512) {
      throw new HttpError(400, 'invalid_request', 'nonce must be the raw nonce the app generated (16 to 512 characters)')
    }
    let header: ReturnType<typeof decodeProtectedHeader>
    let unverified: JWTPayload
    try {
      header = decodeProtectedHeader(idToken)
      unverified = decodeJwt(idToken)
    } catch {
      throw bad('the ID token is not a JWT')
    }
    const provider = this.#providerFor(unverified.iss)
    if (!provider) throw bad('the ID token comes from an issuer this server does not accept')
    // Core §3.1.3.7 steps 6-7: the alg must be one the client expects; never `none` (RFC 8725
    // §3.1, §2.1) nor HS* (a symmetric alg would let anyone holding the public JWKS forge tokens).
    if (typeof header.alg !== 'string' || !(provider.algorithms as readonly string[]).includes(header.alg)) {
      throw bad(`the ID token's alg is not accepted (${provider.algorithms.join(', ')})`)
    }
    const now = this.o.now()
    const skew = this.o.skewSeconds ?? ID_TOKEN_SKEW_SECONDS
    let payload: JWTPayload
    let keys: JWTVerifyGetKey
    try {
      keys = await this.#keys(provider)
    } catch {
      throw new HttpError(503, 'identity_provider_unavailable', "the identity provider's discovery document could not be used; try again")
    }
    try {
      ;({ payload } = await jwtVerify(idToken, keys, {
        issuer: provider.issuers, // step 2: exact match
        audience: provider.clientIds, // step 3: aud contains one of our client ids
        algorithms: provider.algorithms,
        clockTolerance: skew, // step 9: exp
        currentDate: now,
        requiredClaims: ['sub', 'iat', 'exp', 'aud'],
      }))
    } catch (e) {
      if (e instanceof errors.JWKSTimeout || (e instanceof Error && !(e instanceof errors.JOSEError))) {
        // The keys could not be fetched (network, DNS, TLS): not the caller's fault, not ours either.
        throw new HttpError(503, 'identity_provider_unavailable', "the identity provider's keys could not be fetched; try again")
      }
      if (e instanceof errors.JWKSInvalid || e instanceof errors.JWKSMultipleMatchingKeys) {
        throw new HttpError(503, 'identity_provider_unavailable', "the identity provider's key set is not usable")
      }
      if (e instanceof errors.JWKSNoMatchingKey) throw bad("the ID token is signed with a key the provider's key set does not have")
      if (e instanceof errors.JWTExpired) throw bad('the ID token has expired')
      if (e instanceof errors.JWTClaimValidationFailed) throw bad(`the ID token's ${e.claim} claim is not valid for this server`)
      throw bad('the ID token signature is not valid')
    }
    // Step 10: iat; a token issued in the future (beyond the skew) is refused.
    if (typeof payload.iat !== 'number' || payload.iat * 1000 > now.getTime() + skew * 1000) throw bad('the ID token was issued in the future')
    if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) throw bad('the ID token has no usable sub')
    // Steps 4-5: several audiences need azp; an azp present must be one of our client ids.
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud]
    // Step 3: "MUST be rejected if ... it contains additional audiences not trusted by the Client".
    if (aud.some((a) => typeof a !== 'string' || !provider.clientIds.includes(a))) throw bad('the ID token has an audience that is not one of this app\'s client ids')
    if (aud.length > 1 && payload.azp === undefined) throw bad('the ID token has several audiences and no azp')
    if (payload.azp !== undefined && (typeof payload.azp !== 'string' || !provider.clientIds.includes(payload.azp))) {
      throw bad("the ID token's azp is not one of this app's client ids")
    }
    // Step 11 (§3.2.2.11): the nonce. Apple carries SHA-256 hex of the raw nonce, Google the raw one.
    const expected = provider.nonce === 'sha256' ? createHash('sha256').update(rawNonce).digest('hex') : rawNonce
    const got = typeof payload.nonce === 'string' ? Buffer.from(payload.nonce) : Buffer.alloc(0)
    const want = Buffer.from(expected)
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw bad('the ID token nonce does not match')
    const email = typeof payload.email === 'string' && payload.email.length <= 320 ? payload.email.trim().toLowerCase() : null
    const verified = email !== null && truthy(payload.email_verified)
    return {
      provider,
      subject: payload.sub,
      verifiedEmail: verified ? email : null,
      unverifiedEmail: email !== null && !verified,
      privateEmail: truthy(payload.is_private_email),
      clientId: typeof payload.azp === 'string' ? payload.azp : (aud[0] as string),
      tokenHash: createHash('sha256').update(idToken).digest('base64url'),
      expiresAt: new Date(payload.exp! * 1000),
    }
  }
}

/** `jwks_uri` of the provider's discovery document (OpenID Connect Discovery 1.0 §4), checked. */
async function discoverJwksUri(p: IdentityProvider): Promise<string> {
  const res = await fetch(`${p.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000), redirect: 'error' })
  if (!res.ok) throw new Error(`discovery answered ${res.status}`)
  const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown }
  // §4.3: the issuer in the document must be identical to the one the configuration names.
  if (doc.issuer !== p.issuer) throw new Error('discovery issuer mismatch')
  if (typeof doc.jwks_uri !== 'string') throw new Error('discovery has no jwks_uri')
  try {
    return providerUrl('jwks_uri', doc.jwks_uri, !p.allowLoopbackHttp)
  } catch (e) {
    if (e instanceof ConfigError) throw new Error('discovery jwks_uri is not https', { cause: e })
    throw e
  }
}
