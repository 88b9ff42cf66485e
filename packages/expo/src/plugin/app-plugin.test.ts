import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
type ExpoConfig = { name: string; slug: string; [key: string]: unknown }
import { describe, expect, it, vi } from 'vitest'

const require = createRequire(import.meta.url)
type Plugin = (config: ExpoConfig, props?: { faceIDPermission?: string | false; allowBackup?: boolean }) => ExpoConfig
const plugin = require('../../app.plugin.cjs') as Plugin & { withLatchkey: Plugin }
const root = fileURLToPath(new URL('../../../../', import.meta.url))

type Manifest = { manifest: { $: Record<string, string>; application: Array<{ $: Record<string, string> }> } }
type Mod = (config: Record<string, unknown>) => Promise<{ modResults: unknown }>

const sampleManifest = (): Manifest => ({
  manifest: {
    $: { 'xmlns:android': 'http://schemas.android.com/apk/res/android', package: 'com.example.app' },
    application: [{ $: { 'android:name': '.MainApplication', 'android:allowBackup': 'true', 'android:label': '@string/app_name' } }],
  },
})
const base = (): ExpoConfig => ({ name: 'example', slug: 'example' })

/** Runs the plugin's mods the way prebuild would, on the given Info.plist and manifest. */
async function prebuild(config: ExpoConfig, infoPlist: Record<string, unknown>, manifest: Manifest) {
  const mods = (config as { mods?: { ios?: { infoPlist?: Mod }; android?: { manifest?: Mod } } }).mods ?? {}
  const request = (platform: string, modName: string) => ({
    platform, modName, projectRoot: '/tmp/app', platformProjectRoot: `/tmp/app/${platform}`, introspect: true,
  })
  const ios = mods.ios?.infoPlist
    ? (await mods.ios.infoPlist({ ...config, modResults: structuredClone(infoPlist), modRequest: request('ios', 'infoPlist'), modRawConfig: config })).modResults
    : infoPlist
  const android = mods.android?.manifest
    ? (await mods.android.manifest({ ...config, modResults: structuredClone(manifest), modRequest: request('android', 'manifest'), modRawConfig: config })).modResults
    : manifest
  return { infoPlist: ios as Record<string, string>, manifest: android as Manifest }
}

describe('config plugin (app.plugin.cjs) with @expo/config-plugins', () => {
  it('adds NSFaceIDUsageDescription and turns Android backup off with rules that exclude secure-store data', async () => {
    const out = await prebuild(plugin(base()), { CFBundleName: 'example' }, sampleManifest())
    expect(out.infoPlist.NSFaceIDUsageDescription).toMatch(/Face ID/)
    expect(out.infoPlist.CFBundleName).toBe('example')
    expect(out.manifest.manifest.application[0]!.$).toMatchObject({
      'android:name': '.MainApplication',
      'android:allowBackup': 'false',
      'android:fullBackupContent': '@xml/secure_store_backup_rules',
      'android:dataExtractionRules': '@xml/secure_store_data_extraction_rules',
      'android:label': '@string/app_name',
    })
  })

  it('takes an overriding Face ID text, keeps one already set, and can leave Info.plist alone', async () => {
    const custom = await prebuild(plugin(base(), { faceIDPermission: 'Unlock Acme with Face ID' }), { NSFaceIDUsageDescription: 'old' }, sampleManifest())
    expect(custom.infoPlist.NSFaceIDUsageDescription).toBe('Unlock Acme with Face ID')
    const kept = await prebuild(plugin(base()), { NSFaceIDUsageDescription: 'from the app' }, sampleManifest())
    expect(kept.infoPlist.NSFaceIDUsageDescription).toBe('from the app')
    const off = await prebuild(plugin(base(), { faceIDPermission: false }), {}, sampleManifest())
    expect(off.infoPlist.NSFaceIDUsageDescription).toBeUndefined()
  })

  it('is idempotent: applied twice to one config, and run again on its own output', async () => {
    const once = await prebuild(plugin(base()), {}, sampleManifest())
    const twice = await prebuild(plugin(plugin(base())), {}, sampleManifest())
    expect(twice).toEqual(once)
    const unguarded = await prebuild(plugin.withLatchkey(plugin.withLatchkey(base())), {}, sampleManifest())
    expect(unguarded).toEqual(once)
    const rerun = await prebuild(plugin(base()), once.infoPlist, once.manifest)
    expect(rerun).toEqual(once)
  })

  it('keeps the app’s own backup rules and warns', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined)
    const manifest = sampleManifest()
    manifest.manifest.application[0]!.$['android:dataExtractionRules'] = '@xml/app_rules'
    const out = await prebuild(plugin(base()), {}, manifest)
    expect(out.manifest.manifest.application[0]!.$['android:dataExtractionRules']).toBe('@xml/app_rules')
    expect(out.manifest.manifest.application[0]!.$['android:allowBackup']).toBe('false')
    expect(warn).toHaveBeenCalledOnce()
    warn.mockRestore()
  })

  it('is what Expo resolves for the package name "@latchkey/expo"', () => {
    const { resolveConfigPluginFunction } = require('@expo/config-plugins/build/utils/plugin-resolver') as {
      resolveConfigPluginFunction: (root: string, name: string) => Plugin
    }
    const resolved = resolveConfigPluginFunction(root, '@latchkey/expo')
    expect(resolved).toBe(plugin)
  })
})
