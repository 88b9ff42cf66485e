// dpop-proof: what one DPoP proof (RFC 9449 §4.2) costs the client, and what DPoP adds to a bundle.
// Per proof, in one process and one run: the native store's key (@noble/curves P-256 in JS, as on
// Hermes), the web store's key (WebCrypto ECDSA, here Node's), both through the core's signer
// (claims, ath with the core's SHA-256, base64url); peers: jose's SignJWT ES256 with a KeyObject
// (native crypto) for the same claims, and an HMAC-SHA256 over the same signing input (a floor).
// Ratios are against jose. Bundle: bundled by Vite 8 / Rolldown, minified by terser (Metro's default
// minifier), and gzipped: bytes of the
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

/** µs per call of each contender: rounds interleaved (A, B, C, D, A, B, …) so that load on the shared machine hits all alike; median of the rounds. */
async function perOp(contenders, count, rounds = 7) {
  for (const fn of Object.values(contenders)) for (let i = 0; i < Math.min(100, count); i++) await fn()
  const samples = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(contenders)) {
      const t0 = now()
      for (let i = 0; i < count; i++) await fn()
      samples[name].push(((now() - t0) / count) * 1000)
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, round(median(Float64Array.from(v)), 2)]))
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
    build: { write: false, minify: false, lib: { entry, formats: ['es'], fileName: () => 'out.js' } },
  }).finally(() => rmSync(entry, { force: true }))
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output)
  const bundled = outputs.filter((o) => o.type === 'chunk').map((o) => o.code).join('\n')
  // Terser: the minifier Metro uses by default (metro-minify-terser).
  const { minify } = await import('terser')
  const text = (await minify(bundled, { module: true, compress: true, mangle: true })).code ?? ''
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

  const figures = await perOp({
    nativeNobleUs: () => nativeSigner.proof('GET', url, { accessToken }),
    webCryptoUs: () => webSigner.proof('GET', url, { accessToken }),
    joseES256Us: () => new SignJWT({ htm: 'GET', htu: 'https://api.example.com/me', iat: 1, jti: 'x', ath: 'y' }).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk }).sign(privateKey),
    hmacUs: () => createHmac('sha256', hmacKey).update(sampleInput).digest(),
  }, count)
  log(`one proof: noble ${figures.nativeNobleUs} µs, WebCrypto ${figures.webCryptoUs} µs, jose ES256 ${figures.joseES256Us} µs, HMAC ${figures.hmacUs} µs`)

  const bundles = {
    nobleP256Only: await bundleBytes(`import { p256 } from '@noble/curves/nist.js'; export const s = (m, k) => p256.sign(m, k); export const g = (k) => p256.getPublicKey(k, false); export const r = (s) => p256.utils.randomSecretKey(s)`),
    nativeKeyStore: await bundleBytes(`export { createNativeDpopKeyStore } from '${join(root, 'packages/expo/src/dpop/native-key-store.ts')}'`),
    webKeyStore: await bundleBytes(`export { createWebDpopKeyStore } from '${join(root, 'packages/expo/src/dpop/web-key-store.ts')}'`),
    coreDpop: await bundleBytes(`export { createDpopSigner, createNonceMemory, jwkThumbprint } from '${join(root, 'packages/core/src/index.ts')}'`),
  }
  log(`bundle (min / gzip bytes): ${Object.entries(bundles).map(([k, v]) => `${k} ${v.minified}/${v.gzip}`).join(', ')}`)
  return {
    params: { proofsPerRound: count, rounds: 7, interleaved: true, accessTokenBytes: accessToken.length },
    perProofUs: figures,
    ratios: {
      nobleOverJose: ratio(figures.nativeNobleUs, figures.joseES256Us),
      webCryptoOverJose: ratio(figures.webCryptoUs, figures.joseES256Us),
      nobleOverHmac: ratio(figures.nativeNobleUs, figures.hmacUs, 0),
    },
    bundleBytes: bundles,
  }
}
