/* eslint-disable @typescript-eslint/no-require-imports -- Expo requires plugins as CommonJS */
// Expo loads config plugins with require(), so this file is CommonJS.
'use strict'
const { AndroidConfig, createRunOncePlugin, withAndroidManifest, withInfoPlist } = require('@expo/config-plugins')

const DEFAULT_FACE_ID = 'Allow $(PRODUCT_NAME) to use Face ID to unlock your account.'
// Rules shipped in expo-secure-store's Android library: they exclude its SharedPreferences file
// from cloud backup (fullBackupContent, API <= 30) and from backup and device transfer
// (dataExtractionRules, API >= 31), where allowBackup=false alone does not stop device transfer.
const BACKUP_RULES = '@xml/secure_store_backup_rules'
const EXTRACTION_RULES = '@xml/secure_store_data_extraction_rules'

/**
 * @param {import('@expo/config-plugins').ExpoConfig} config
 * @param {{ faceIDPermission?: string | false, allowBackup?: boolean }} [props]
 *   faceIDPermission: NSFaceIDUsageDescription text (false: leave Info.plist alone). Without it an
 *     existing text is kept, and expo-local-authentication's plugin (applied automatically, first)
 *     always sets one: pass it to show yours.
 *   allowBackup: Android Auto Backup for the whole app (default false: nothing of the app is backed
 *     up). true keeps it for other app data; the secure store stays excluded by the rules below.
 */
function withLatchkey(config, props = {}) {
  const faceID = props.faceIDPermission
  if (faceID !== false) {
    config = withInfoPlist(config, (c) => {
      // An explicit text wins; otherwise keep one another plugin or the app already set.
      if (typeof faceID === 'string') c.modResults.NSFaceIDUsageDescription = faceID
      else if (!c.modResults.NSFaceIDUsageDescription) c.modResults.NSFaceIDUsageDescription = DEFAULT_FACE_ID
      return c
    })
  }
  config = withAndroidManifest(config, (c) => {
    const app = AndroidConfig.Manifest.getMainApplicationOrThrow(c.modResults)
    app.$['android:allowBackup'] = props.allowBackup === true ? 'true' : 'false'
    const current = [app.$['android:fullBackupContent'], app.$['android:dataExtractionRules']]
    const ours = current.every((v, i) => v === undefined || v === [BACKUP_RULES, EXTRACTION_RULES][i])
    if (ours) {
      app.$['android:fullBackupContent'] = BACKUP_RULES
      app.$['android:dataExtractionRules'] = EXTRACTION_RULES
    } else {
      console.warn('[latchkey] the app has its own Android backup rules: make sure they exclude expo-secure-store data.')
    }
    return c
  })
  return config
}

const plugin = createRunOncePlugin(withLatchkey, '@latchkey/expo', '0.1.0')
module.exports = plugin
module.exports.default = plugin
module.exports.withLatchkey = withLatchkey
