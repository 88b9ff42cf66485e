import { createPrivateKey } from 'node:crypto'
import { ConfigError } from '../config.js'
import { APPLE_TOKEN_DEFAULTS, type AppleTokenConfig } from './apple-tokens.js'
import { providerUrl, type IdentityProvider } from './providers.js'

/** What the configuration says (ConfigOptions.appleTokens): endpoints and provider have defaults. */
export type AppleTokenInput = Pick<AppleTokenConfig, 'teamId' | 'keyId' | 'privateKeyPem'> & Partial<Pick<AppleTokenConfig, 'provider' | 'tokenEndpoint' | 'revokeEndpoint'>>

/** Apple's team and key ids are ten upper-case letters and digits. */
const APPLE_ID = /^[A-Z0-9]{10}$/

/** Checks the Sign in with Apple key settings; the key's value never appears in an error. */
export function resolveAppleTokens(input: AppleTokenInput | undefined, providers: readonly IdentityProvider[], production: boolean): AppleTokenConfig | undefined {
  if (input === undefined) return undefined
  const o = { ...APPLE_TOKEN_DEFAULTS, ...input }
  if (!APPLE_ID.test(o.teamId)) throw new ConfigError('LATCHKEY_APPLE_TEAM_ID must be the 10-character Team ID of the Apple developer account')
  if (!APPLE_ID.test(o.keyId)) throw new ConfigError('LATCHKEY_APPLE_KEY_ID must be the 10-character Key ID of the Sign in with Apple key')
  // Environment variables often carry a PEM with its newlines written as \n.
  const pem = o.privateKeyPem.replace(/\\n/g, '\n')
  let ok: boolean
  try {
    const key = createPrivateKey(pem)
    ok = key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
  } catch {
    ok = false
  }
  if (!ok) throw new ConfigError('LATCHKEY_APPLE_PRIVATE_KEY must be the Sign in with Apple key (.p8 file contents: a PKCS #8 PEM P-256 private key)')
  if (!providers.some((p) => p.name === o.provider)) {
    throw new ConfigError(`the Apple token settings are for provider ${JSON.stringify(o.provider)}, which is not configured (LATCHKEY_APPLE_CLIENT_IDS)`)
  }
  return {
    provider: o.provider,
    teamId: o.teamId,
    keyId: o.keyId,
    privateKeyPem: pem,
    tokenEndpoint: providerUrl('LATCHKEY_APPLE_TOKEN_URL', o.tokenEndpoint, production),
    revokeEndpoint: providerUrl('LATCHKEY_APPLE_REVOKE_URL', o.revokeEndpoint, production),
  }
}

/** LATCHKEY_APPLE_TEAM_ID, LATCHKEY_APPLE_KEY_ID, LATCHKEY_APPLE_PRIVATE_KEY (all or none); the two URLs for stand-ins. */
export function appleTokensFromEnv(get: (name: string) => string | undefined): AppleTokenInput | undefined {
  const names = ['LATCHKEY_APPLE_TEAM_ID', 'LATCHKEY_APPLE_KEY_ID', 'LATCHKEY_APPLE_PRIVATE_KEY']
  const set = names.filter((n) => get(n) !== undefined)
  if (set.length === 0) return undefined
  if (set.length < names.length) throw new ConfigError(`Apple token revocation needs all of ${names.join(', ')}; missing ${names.filter((n) => !set.includes(n)).join(', ')}`)
  return {
    teamId: get('LATCHKEY_APPLE_TEAM_ID')!,
    keyId: get('LATCHKEY_APPLE_KEY_ID')!,
    privateKeyPem: get('LATCHKEY_APPLE_PRIVATE_KEY')!,
    ...(get('LATCHKEY_APPLE_TOKEN_URL') ? { tokenEndpoint: get('LATCHKEY_APPLE_TOKEN_URL')! } : {}),
    ...(get('LATCHKEY_APPLE_REVOKE_URL') ? { revokeEndpoint: get('LATCHKEY_APPLE_REVOKE_URL')! } : {}),
  }
}
