// dpop-proof: what one DPoP proof (RFC 9449 §4.2) costs the client, and what DPoP adds to a bundle.
// Per proof, in one process and one run: the native store's key (@noble/curves P-256 in JS, as on
// Hermes), the web store's key (WebCrypto ECDSA, here Node's), both through the core's signer
// (claims, ath with the core's SHA-256, base64url); peers: jose's SignJWT ES256 with a KeyObject
// (native crypto) for the same claims, and an HMAC-SHA256 over the same signing input (a floor).
// Ratios are against jose. Bundle: minified (Vite 8 / Rolldown + Oxc) and gzipped bytes of the
// core's DPoP modules and of each key store with its dependencies.
import { createHmac, webcrypto, generateKeyPairSync } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { createDpopSigner, createNonceMemory, systemClock } from '@latchkey/core'
import { SignJWT } from 'jose'
import { log, median, now, ratio, round } from '../lib/util.mjs'

const root = fileURLToPath(new URL('../../', import.meta.url))
const expoDist = join(root, 'packages', 'expo', 'dist')

async function perOp(fn, count) {
  for (let i = 0; i < Math.min(50, count); i++) await fn()
  const samples = []
  for (let round = 0; round < 5; round++) {
    const t0 = now()
    for (let i = 0; i < count; i++) await fn()
    samples.push(((now() - t0) / count) * 1000)
  }
  return median(Float64Array.from(samples))
}

let entries = 0
async function bundleBytes(code) {
  const { build } = await import('vite')
  // The entry sits inside the tree so that its imports resolve from the workspace's node_modules.
  const dir = join(root, 'node_modules', '.cache', 'latchkey-bench')
  mkdirSync(dir, { recursive: true })
  const entry = join(dir, `dpop-entry-${process.pid}-${++entries}.mjs`)
  writeFileSync(entry, code)
  const result = await build({
    configFile: false, logLevel: 'silent', root,
    resolve: { alias: [{ find: /^@latchkey\/core$/, replacement: join(root, 'packages/core/src/index.ts') }] },
    build: { write: false, minify: true, lib: { entry, formats: ['es'], fileName: () => 'out.js' } },
  }).finally(() => rmSync(entry, { force: true }))
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output)
  const text = outputs.filter((o) => o.type === 'chunk').map((o) => o.code).join('\n')
  return { minified: Buffer.byteLength(text), gzip: gzipSync(text).length }
}

export async function run({ quick }) {
  const count = quick ? 200 : 2_000
  const { createNativeDpopKeyStore } = await import(pathToFileURL(join(expoDist, 'dpop', 'native-key-store.js')).href)
  const { createWebDpopKeyStore } = await import(pathToFileURL(join(expoDist, 'dpop', 'web-key-store.js')).href)
  const randomBytes = (n) => webcrypto.getRandomValues(new Uint8Array(n))
  const native = createNativeDpopKeyStore({ storage: { getItem: async () => null, setItem: async () => {}, removeItem: async () => {} }, randomBytes })
  const web = createWebDpopKeyStore({ subtle: webcrypto.subtle })
  const deps = { clock: systemClock(), nonces: createNonceMemory(), randomBytes }
  const nativeSigner = createDpopSigner(await native.generate(), deps)
  const webSigner = createDpopSigner(await web.generate(), deps)
  const url = 'https://api.example.com/me?x=1'
  const accessToken = 'a'.repeat(800)
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  const hmacKey = randomBytes(32)
  const sampleInput = (await webSigner.proof('GET', url, { accessToken })).split('.').slice(0, 2).join('.')

  const figures = {
    nativeNobleUs: round(await perOp(() => nativeSigner.proof('GET', url, { accessToken }), count), 1),
    webCryptoUs: round(await perOp(() => webSigner.proof('GET', url, { accessToken }), count), 1),
    joseES256Us: round(await perOp(() => new SignJWT({ htm: 'GET', htu: 'https://api.example.com/me', iat: 1, jti: 'x', ath: 'y' }).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk }).sign(privateKey), count), 1),
    hmacUs: round(await perOp(() => createHmac('sha256', hmacKey).update(sampleInput).digest(), count), 2),
  }
  log(`one proof: noble ${figures.nativeNobleUs} µs, WebCrypto ${figures.webCryptoUs} µs, jose ES256 ${figures.joseES256Us} µs, HMAC ${figures.hmacUs} µs`)

  const bundles = {
    nobleP256Only: await bundleBytes(`import { p256 } from '@noble/curves/nist.js'; export const s = (m, k) => p256.sign(m, k); export const g = (k) => p256.getPublicKey(k, false); export const r = (s) => p256.utils.randomSecretKey(s)`),
    nativeKeyStore: await bundleBytes(`export { createNativeDpopKeyStore } from '${join(root, 'packages/expo/src/dpop/native-key-store.ts')}'`),
    webKeyStore: await bundleBytes(`export { createWebDpopKeyStore } from '${join(root, 'packages/expo/src/dpop/web-key-store.ts')}'`),
    coreDpop: await bundleBytes(`export { createDpopSigner, createNonceMemory, jwkThumbprint } from '${join(root, 'packages/core/src/index.ts')}'`),
  }
  log(`bundle (min / gzip bytes): ${Object.entries(bundles).map(([k, v]) => `${k} ${v.minified}/${v.gzip}`).join(', ')}`)
  return {
    params: { proofsPerRound: count, rounds: 5, accessTokenBytes: accessToken.length },
    perProofUs: figures,
    ratios: {
      nobleOverJose: ratio(figures.nativeNobleUs, figures.joseES256Us),
      webCryptoOverJose: ratio(figures.webCryptoUs, figures.joseES256Us),
      nobleOverHmac: ratio(figures.nativeNobleUs, figures.hmacUs, 0),
    },
    bundleBytes: bundles,
  }
}
