// The platform entries (issue 16): Metro resolves `@latchkey/expo` with the `react-native`
// condition for iOS/Android bundles and `browser` for web bundles. Each entry exports the same
// names as index.ts, and its module graph leaves out the other platform: no expo-secure-store or
// expo-local-authentication in the web entry, no web mode in the native one.
import { createSessionClient, silentLogger } from '@latchkey/core'
import { readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, vi } from 'vitest'

const native = vi.hoisted(() => ({ os: 'ios' }))
vi.mock('expo-secure-store', async () => (await import('./test-support/fake-secure-store.js')).createFakeSecureStore().module)
vi.mock('expo-local-authentication', async () => (await import('./test-support/fake-local-authentication.js')).createFakeLocalAuthentication().module)
vi.mock('@react-native-async-storage/async-storage', async () => ({ default: (await import('./test-support/fake-async-storage.js')).createFakeAsyncStorage().storage }))
vi.mock('@react-native-community/netinfo', async () => ({ default: (await import('./test-support/fake-rn.js')).fakeNetInfo() }))
vi.mock('react-native', async () => {
  const { fakeAppState } = await import('./test-support/fake-rn.js')
  return { AppState: fakeAppState('active'), Platform: { get OS() { return native.os } } }
})

const src = dirname(fileURLToPath(import.meta.url))
const pkg = JSON.parse(readFileSync(join(src, '..', 'package.json'), 'utf8')) as {
  exports: Record<string, Record<string, string>>; 'react-native': string; browser: string; sideEffects: boolean
}

/** Every source file an entry reaches through relative imports (type-only imports left out: they vanish in the build), and the packages it imports. */
function graph(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string) => {
    if (files.has(file)) return
    files.add(file)
    const text = readFileSync(file, 'utf8')
    for (const [, kind, spec] of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?'([^']+)'/gm)) {
      if (kind) continue
      if (spec!.startsWith('.')) {
        const base = join(dirname(file), spec!.replace(/\.js$/, ''))
        let next = `${base}.ts`
        try { readFileSync(next) } catch { next = `${base}.tsx` }
        visit(next)
      } else packages.add(spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!)
    }
  }
  visit(join(src, entry))
  return { files: [...files].map((f) => relative(src, f)).sort(), packages: [...packages].sort() }
}

describe('platform entries of @latchkey/expo', () => {
  it('package.json sends Metro to them: react-native and browser before import/default, no side effects', () => {
    const root = pkg.exports['.']!
    expect(root['react-native']).toBe('./dist/index.native.js')
    expect(root.browser).toBe('./dist/index.web.js')
    const keys = Object.keys(root)
    expect(keys.indexOf('react-native')).toBeLessThan(keys.indexOf('import'))
    expect(keys.indexOf('browser')).toBeLessThan(keys.indexOf('import'))
    expect(keys.indexOf('types')).toBeLessThan(keys.indexOf('react-native'))
    expect(pkg['react-native']).toBe('./dist/index.native.js')
    expect(pkg.browser).toBe('./dist/index.web.js')
    expect(pkg.sideEffects).toBe(false)
  })

  it('the web entry loads neither expo-secure-store nor expo-local-authentication, nor the native DPoP key (@noble/curves)', () => {
    const { packages } = graph('index.web.ts')
    expect(packages).not.toContain('expo-secure-store')
    expect(packages).not.toContain('expo-local-authentication')
    expect(packages).not.toContain('@noble/curves')
    expect(graph('index.ts').packages).toEqual(expect.arrayContaining(['expo-secure-store', 'expo-local-authentication', '@noble/curves']))
    expect(graph('index.native.ts').packages).toContain('@noble/curves')
  })

  it('the native entry carries no web mode', () => {
    const { files } = graph('index.native.ts')
    expect(files.filter((f) => f.startsWith('web/') && f !== 'web/token-delivery-header.ts')).toEqual([])
    expect(graph('index.ts').files).toEqual(expect.arrayContaining(['web/web-mode.ts', 'web/web-storage.ts']))
  })

  it('all three export the same names', async () => {
    const names = async (entry: string) => Object.keys(await import(entry)).sort()
    const all = await names('./index.js')
    expect(await names('./index.native.js')).toEqual(all)
    expect(await names('./index.web.js')).toEqual(all)
  })

  it('web entry: cookie mode; secure store and biometrics behave as expo-secure-store and expo-local-authentication do on the web', async () => {
    native.os = 'web'
    const web = await import('./index.web.js')
    const options = web.expoSessionOptions({ tokenEndpoint: 'https://api.example/oauth/token' })
    expect(options.persistTokens).toBe('none')
    expect(web.authRequestInit({ method: 'POST' }).credentials).toBe('include')
    await expect(web.secureStoreStorage().getItem('k')).rejects.toMatchObject({ code: 'LK_SECURE_STORE_UNAVAILABLE' })
    expect(web.nativeBiometricMode()).toEqual({ using: 'localAuthentication', reason: 'web' })
    const client = createSessionClient({ ...options, logger: silentLogger, startLocked: true })
    await client.start()
    expect(client.getState().status).toBe('locked')
    expect(await web.biometricGate({ client }).unlock()).toEqual({ result: 'not_available' })
    expect(await web.biometricGate({ client, policyWhenNotEnrolled: 'deny' }).unlock()).toEqual({ result: 'not_available' })
    client.stop()
    native.os = 'ios'
  })

  it('native entry: the secure store; the web-only functions say so instead of acting', async () => {
    native.os = 'android'
    const rn = await import('./index.native.js')
    const options = rn.expoSessionOptions({ tokenEndpoint: 'https://api.example/oauth/token', web: 'insecureLocalStorage' })
    expect(options.persistTokens).toBeUndefined()
    expect(options.storage).toBeDefined()
    expect(rn.authRequestInit({ method: 'POST' })).toEqual({ method: 'POST' })
    expect(() => rn.webStorage()).toThrow(/for the web; this is the iOS\/Android build/)
    expect(() => rn.cookieDelivery({})).toThrow(/cookieDelivery/)
    expect(rn.TOKEN_DELIVERY_HEADER).toBe('X-Latchkey-Token-Delivery')
    native.os = 'web' // a native bundle never runs on the web; if it did, it says so
    expect(() => rn.expoSessionOptions({ tokenEndpoint: 'https://api.example/oauth/token' })).toThrow(/no web mode/)
    native.os = 'ios'
  })
})
