import { randomBytes } from 'node:crypto'
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, type CryptoKey } from 'jose'
import { accessTokenHash } from '../dpop/proof.js'

/** A DPoP key pair of a test client, and proofs made with it (RFC 9449 §4.2). */
export class DpopKey {
  private constructor(
    readonly privateKey: CryptoKey,
    readonly jwk: JWK,
    readonly privateJwk: JWK,
    readonly jkt: string,
    readonly alg: string,
  ) {}

  static async create(alg: 'ES256' | 'EdDSA' | 'RS256' = 'ES256'): Promise<DpopKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
    const jwk = await exportJWK(publicKey)
    return new DpopKey(privateKey, jwk, await exportJWK(privateKey), await calculateJwkThumbprint(jwk, 'sha256'), alg)
  }

  /**
   * A proof for `htm` `htu` at `now`; `claims` adds or overrides claims (undefined removes one),
   * `header` the protected header; `accessToken` adds its `ath`.
   */
  async proof(
    htm: string,
    htu: string,
    now: Date,
    o: { accessToken?: string; nonce?: string; claims?: Record<string, unknown>; header?: Record<string, unknown> } = {},
  ): Promise<string> {
    const claims: Record<string, unknown> = {
      htm,
      htu,
      iat: Math.floor(now.getTime() / 1000),
      jti: randomBytes(16).toString('base64url'),
      ...(o.accessToken ? { ath: accessTokenHash(o.accessToken) } : {}),
      ...(o.nonce ? { nonce: o.nonce } : {}),
      ...o.claims,
    }
    for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k]
    const header: Record<string, unknown> = { alg: this.alg, typ: 'dpop+jwt', jwk: this.jwk, ...o.header }
    for (const k of Object.keys(header)) if (header[k] === undefined) delete header[k]
    return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(this.privateKey)
  }
}

/** An unsigned JWT (`alg: none`) with the given header and claims. */
export function unsignedJwt(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const b = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  return `${b(header)}.${b(claims)}.`
}
