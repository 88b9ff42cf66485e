import { webcrypto } from 'node:crypto'
import { IDBFactory } from 'fake-indexeddb'
import { EmbeddedJWK, calculateJwkThumbprint, jwtVerify } from 'jose'
import { createDpopSigner, createNonceMemory, createSessionClient, oauth2Refresh, oauth2Revoke, silentLogger, createForegroundManager, createOnlineManager, type DpopKeyStore } from '@latchkey/core'
import { describe, expect, it } from 'vitest'
import { startDpopServer } from '../../../core/src/test-support/dpop-server.js'
import { createFakeSecureStore } from '../test-support/fake-secure-store.js'
import { createSecureStoreStorage } from '../storage/secure-store-storage.js'
import { createNativeDpopKeyStore } from './native-key-store.js'
import { createWebDpopKeyStore } from './web-key-store.js'

const clock = { now: () => Date.now(), monotonic: () => performance.now() }
const proofBy = async (store: DpopKeyStore, key: Awaited<ReturnType<DpopKeyStore['generate']>>) => {
  const signer = createDpopSigner(key, { clock, nonces: createNonceMemory(), ...(store.randomBytes ? { randomBytes: store.randomBytes } : {}) })
  return jwtVerify(await signer.proof('GET', 'https://api.example.com/me', { accessToken: 't' }), EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] })
}

const nativeStore = () => {
  const fake = createFakeSecureStore()
  const storage = createSecureStoreStorage({ secureStore: fake.module })
  return { store: createNativeDpopKeyStore({ storage, randomBytes: (n) => webcrypto.getRandomValues(new Uint8Array(n)) }), storage, fake }
}
// Fake IndexedDB (Node has none) over Node's WebCrypto; the Chromium test runs the same store on a real browser.
const webStore = () => ({ store: createWebDpopKeyStore({ indexedDB: new IDBFactory(), subtle: webcrypto.subtle as SubtleCrypto }) })

describe.each([
  ['native: @noble/curves P-256 in the secure store', nativeStore],
  ['web: non-extractable WebCrypto P-256 in IndexedDB', webStore],
])('DPoP key store, %s', (_name, make) => {
  it('generates ES256 keys whose proofs jose verifies; nothing is saved until save()', async () => {
    const { store } = make()
    const key = await store.generate()
    const { protectedHeader } = await proofBy(store, key)
    expect(protectedHeader.jwk).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) })
    expect(await store.load()).toBeNull()
    const other = await store.generate()
    expect(other.publicJwk.x).not.toBe(key.publicJwk.x)
  })

  it('save, load (the same key: proofs by the loaded one verify under the saved thumbprint), delete', async () => {
    const { store } = make()
    const key = await store.generate()
    await store.save(key)
    const loaded = await store.load()
    expect(loaded).not.toBeNull()
    expect(await calculateJwkThumbprint(loaded!.publicJwk as never)).toBe(await calculateJwkThumbprint(key.publicJwk as never))
    const { protectedHeader } = await proofBy(store, loaded!)
    expect(protectedHeader.jwk).toEqual(key.publicJwk)
    await store.delete()
    expect(await store.load()).toBeNull()
  })

  it('refuses to save a key it did not make', async () => {
    const { store } = make()
    const foreign = { ...(await store.generate()) }
    await expect(store.save(foreign)).rejects.toThrow(TypeError)
  })
})

describe('where the private key lives', () => {
  it('web: load and delete without a saved key create no database', async () => {
    const idb = new IDBFactory()
    const store = createWebDpopKeyStore({ indexedDB: idb, subtle: webcrypto.subtle as SubtleCrypto })
    expect(await store.load()).toBeNull()
    await store.delete()
    expect(await idb.databases()).toEqual([])
    await store.save(await store.generate())
    expect((await idb.databases()).map((d) => d.name)).toEqual(['latchkey'])
  })

  it('native: in the secure store, through the session\'s atomic storage, under <storageKey>.dpop', async () => {
    const { store, storage } = nativeStore()
    await store.save(await store.generate())
    const raw = JSON.parse((await storage.getItem('latchkey.session.dpop'))!) as Record<string, unknown>
    expect(raw).toMatchObject({ v: 1, alg: 'ES256', d: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) })
  })

  it('web: the private CryptoKey is not extractable', async () => {
    const subtle = webcrypto.subtle as SubtleCrypto
    const idb = new IDBFactory()
    const store = createWebDpopKeyStore({ indexedDB: idb, subtle })
    await store.save(await store.generate())
    const record = await new Promise<{ privateKey: CryptoKey }>((resolve, reject) => {
      const open = idb.open('latchkey', 1)
      open.onsuccess = () => {
        const get = open.result.transaction('dpop-keys').objectStore('dpop-keys').get('latchkey.session.dpop')
        get.onsuccess = () => resolve(get.result as { privateKey: CryptoKey })
        get.onerror = () => reject(get.error)
      }
    })
    expect(record.privateKey.extractable).toBe(false)
    await expect(subtle.exportKey('jwk', record.privateKey)).rejects.toThrow()
  })
})

describe('a device key per session: generated on sign-in, deleted on sign-out', () => {
  it('with the native store and the session client against an RFC 9449 server', async () => {
    const server = await startDpopServer({ now: Date.now })
    try {
      const { store, storage } = nativeStore()
      const client = createSessionClient({
        refresh: oauth2Refresh({ tokenEndpoint: `${server.origin}/token` }),
        revoke: oauth2Revoke({ revocationEndpoint: `${server.origin}/revoke` }),
        dpop: store, storage, logger: silentLogger,
        foreground: createForegroundManager({ web: false }), online: createOnlineManager({ web: false }),
      })
      const signIn = async () => {
        const res = await client.signInFetch(`${server.origin}/sign-in`, { method: 'POST' })
        await client.signIn(await res.json())
        return (await store.load())!.publicJwk.x
      }
      const first = await signIn()
      expect((await client.fetch(`${server.origin}/api/me`)).status).toBe(200)
      await client.signOut()
      await client.flushRevocations()
      expect(await storage.getItem('latchkey.session.dpop')).toBeNull()
      expect(server.state.revoked).toEqual(['rt-1'])
      const second = await signIn()
      expect(second).not.toBe(first)
      expect(server.state.failures).toEqual([])
    } finally {
      await server.close()
    }
  })
})
