import { CredentialInvalidatedError } from '../errors/errors.js'
import type { Clock, Logger } from '../env/ambient.js'
import { staticDpopKey, type DpopKey, type DpopKeyStore } from './key.js'
import { createDpopSigner, createNonceMemory, type DpopSigner } from './proof.js'

/** RFC 9449 §5: a token response with `token_type: DPoP` is bound to the proof's key. */
export const isDpopBound = (tokenType: string): boolean => tokenType.toLowerCase() === 'dpop'

/** The `dpop` option: a key store (one key per session), or one fixed key. */
export type DpopOption = DpopKeyStore | DpopKey

export function resolveDpopOption(option: DpopOption | undefined): DpopKeyStore | undefined {
  if (option === undefined) return undefined
  if (typeof (option as DpopKey).sign === 'function') return staticDpopKey(option as DpopKey)
  const store = option as DpopKeyStore
  for (const m of ['generate', 'load', 'save', 'delete'] as const) {
    if (typeof store[m] !== 'function') throw new TypeError(`createSessionClient: \`dpop\` must be a DpopKey or a DpopKeyStore (missing ${m}())`)
  }
  return store
}

/**
 * The session's DPoP key through its life: generated for a sign-in request, saved when the
 * sign-in answers with a bound token, used for every proof, deleted on sign-out. One nonce memory
 * per client, shared by every key (a nonce belongs to the server, not to the key).
 */
export function createSessionKeys(store: DpopKeyStore, deps: { clock: Clock; logger: Logger }) {
  const nonces = createNonceMemory()
  const signerOf = (key: DpopKey) => createDpopSigner(key, { clock: deps.clock, nonces, ...(store.randomBytes ? { randomBytes: (n: number) => store.randomBytes!(n) } : {}) })
  let current: DpopSigner | null = null
  let pending: { key: DpopKey; signer: DpopSigner } | null = null

  return {
    /** A new key for a sign-in request (not saved until that sign-in succeeds bound). */
    async forSignIn(): Promise<DpopSigner> {
      const key = await store.generate()
      pending = { key, signer: signerOf(key) }
      return pending.signer
    },
    /**
     * A sign-in answered `tokenType`: keep the key it was proved with if the token is bound; drop
     * it otherwise, with any key an earlier session left (an unbound session has no key).
     */
    async adopt(tokenType: string): Promise<void> {
      const used = pending
      pending = null
      if (!isDpopBound(tokenType)) {
        current = null
        await store.delete().catch((error: unknown) => deps.logger.warn('could not delete an unused DPoP key', { code: (error as { code?: unknown }).code }))
        return
      }
      if (used) {
        await store.save(used.key)
        current = used.signer
      } else {
        current = null
        await this.signer()
      }
    },
    /** The signer of the session's key; a bound session whose key is gone cannot prove anything. */
    async signer(): Promise<DpopSigner> {
      if (current) return current
      const key = await store.load()
      if (!key) throw new CredentialInvalidatedError({ cause: new Error('the DPoP key of this bound session is gone') })
      current = signerOf(key)
      return current
    },
    /** Sign-out: the key is deleted now (local first); its signer is returned for the revocation that follows. */
    async end(): Promise<DpopSigner | null> {
      const signer = current ?? (await store.load().then((k) => (k ? signerOf(k) : null), () => null))
      current = null
      pending = null
      await store.delete().catch((error: unknown) => deps.logger.error('could not delete the DPoP key', { code: (error as { code?: unknown }).code }))
      return signer
    },
    /** Another context signed in or out: forget the key in memory, read it again when needed. */
    forget(): void {
      current = null
    },
  }
}

export type SessionKeys = ReturnType<typeof createSessionKeys>
