import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Server-provided DPoP nonces (RFC 9449 §8) without per-client state: a nonce is the number of a
 * time step and an HMAC of it under a key derived from the server's secret, so every process of
 * one deployment issues and accepts the same nonces. A nonce of the current step or of the one
 * before is accepted (§8.2: a server may accept nonces for a limited time, which makes a client's
 * nonce valid for one to two steps); anything else gets `use_dpop_nonce` with a fresh one.
 */
export class DpopNonces {
  readonly #key: Buffer
  constructor(
    serverKey: Buffer,
    readonly stepSeconds: number,
  ) {
    this.#key = createHmac('sha256', serverKey).update('latchkey-dpop-nonce-v1').digest()
  }

  #step(now: Date): number {
    return Math.floor(now.getTime() / 1000 / this.stepSeconds)
  }

  #mac(step: number): Buffer {
    return createHmac('sha256', this.#key).update(String(step)).digest().subarray(0, 16)
  }

  /** The nonce to hand out now (RFC 9449 §8.1 `DPoP-Nonce`; NQCHAR only: base64url and '.'). */
  current(now: Date): string {
    const step = this.#step(now)
    return `${step.toString(36)}.${this.#mac(step).toString('base64url')}`
  }

  /** Whether `nonce` was issued for the current time step or the previous one. */
  accepts(nonce: unknown, now: Date): boolean {
    if (typeof nonce !== 'string' || nonce.length > 64) return false
    const m = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{22})$/.exec(nonce)
    if (!m) return false
    const step = parseInt(m[1]!, 36)
    const current = this.#step(now)
    if (step !== current && step !== current - 1) return false
    const given = Buffer.from(m[2]!, 'base64url')
    return given.length === 16 && timingSafeEqual(given, this.#mac(step))
  }
}
