// Bundled for the Chromium test of the web DPoP key store.
import { createDpopSigner, createNonceMemory, systemClock } from '@latchkey/core'
import { createWebDpopKeyStore } from '../dpop/web-key-store.js'

declare global {
  interface Window {
    dpop: {
      generateAndSave(): Promise<Record<string, string>>
      proofFromStored(url: string, accessToken: string): Promise<string | null>
      storedKeyExtractable(): Promise<{ extractable: boolean; exported: boolean }>
      remove(): Promise<void>
    }
  }
}

const store = createWebDpopKeyStore()

window.dpop = {
  async generateAndSave() {
    const key = await store.generate()
    await store.save(key)
    return { ...key.publicJwk }
  },
  async proofFromStored(url, accessToken) {
    const key = await store.load()
    if (!key) return null
    return createDpopSigner(key, { clock: systemClock(), nonces: createNonceMemory() }).proof('GET', url, { accessToken })
  },
  async storedKeyExtractable() {
    const record = await new Promise<{ privateKey: CryptoKey }>((resolve, reject) => {
      const open = indexedDB.open('latchkey', 1)
      open.onsuccess = () => {
        const get = open.result.transaction('dpop-keys').objectStore('dpop-keys').get('latchkey.session.dpop')
        get.onsuccess = () => resolve(get.result as { privateKey: CryptoKey })
        get.onerror = () => reject(get.error)
      }
      open.onerror = () => reject(open.error)
    })
    const exported = await crypto.subtle.exportKey('jwk', record.privateKey).then(() => true, () => false)
    return { extractable: record.privateKey.extractable, exported }
  },
  remove: () => store.delete(),
}
