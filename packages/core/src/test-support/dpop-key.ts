import { webcrypto } from 'node:crypto'
import type { DpopKey, DpopKeyStore } from '../dpop/key.js'

/** A P-256 DPoP key on Node's WebCrypto (signature r‖s, as ES256 wants: RFC 7518 §3.4). */
export async function nodeDpopKey(): Promise<DpopKey> {
  const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
  const { kty, crv, x, y } = await webcrypto.subtle.exportKey('jwk', pair.publicKey)
  return {
    alg: 'ES256',
    publicJwk: { kty: kty!, crv: crv!, x: x!, y: y! },
    sign: async (input) => new Uint8Array(await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, input)),
  }
}

/** An in-memory key store that counts what happens to its keys. */
export function memoryDpopKeyStore() {
  let saved: DpopKey | null = null
  const log: string[] = []
  const store: DpopKeyStore = {
    generate: async () => {
      log.push('generate')
      return nodeDpopKey()
    },
    load: async () => saved,
    save: async (key) => {
      log.push('save')
      saved = key
    },
    delete: async () => {
      log.push('delete')
      saved = null
    },
  }
  return { store, log, saved: () => saved }
}
