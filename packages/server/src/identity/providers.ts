import { ConfigError } from '../config.js'

/**
 * Identity providers whose ID tokens this server accepts (issue 15), by configuration:
 * Apple, Google, or any OpenID Connect provider (issuer, JWKS URI, client ids).
 */

/** JWS algorithms accepted on ID tokens (OpenID Connect Core §3.1.3.7 step 7: the alg the client registered). `none` and HS* never. */
export type IdTokenAlgorithm = 'RS256' | 'ES256'
export const ID_TOKEN_ALGORITHMS: readonly IdTokenAlgorithm[] = ['RS256', 'ES256']

/**
 * How the `nonce` claim relates to the raw nonce the app generated: Apple puts the SHA-256 (hex)
 * of the nonce the app passed to it, and Apple's SDKs and expo-apple-authentication pass the hash
 * so the raw value stays on the device (`sha256`); Google returns the nonce as given (`raw`).
 */
export type NonceMode = 'sha256' | 'raw'

/** What the configuration says of a provider (ConfigOptions.identityProviders). */
export type IdentityProviderInput =
  | { type: 'apple'; clientIds: string[]; jwksCooldownSeconds?: number }
  | { type: 'google'; clientIds: string[]; jwksCooldownSeconds?: number }
  | {
      type: 'oidc'
      /** Its name in the API (`provider` of the sign-in body); default `oidc`. */
      name?: string
      issuer: string
      /** The JWKS URL; when absent it is read from the issuer's discovery document (OpenID Connect Discovery 1.0 §4). */
      jwksUri?: string
      clientIds: string[]
      nonce?: NonceMode
      algorithms?: IdTokenAlgorithm[]
      jwksCooldownSeconds?: number
    }
  /** Already resolved (a `ServerConfig` passed back to `resolveConfig`). */
  | IdentityProvider

/** A provider, every value resolved and checked. */
export interface IdentityProvider {
  type: 'resolved'
  name: string
  /** The issuer identities are recorded under (one per provider, whatever form `iss` took). */
  issuer: string
  /** The `iss` values accepted, each compared exactly (Core §3.1.3.7 step 2). */
  issuers: string[]
  /** Null: read from `${issuer}/.well-known/openid-configuration` at the first verification. */
  jwksUri: string | null
  /** Plain http to loopback is accepted for URLs found by discovery (development and tests only). */
  allowLoopbackHttp: boolean
  /** Every client id of the app at this provider (Google issues one per platform). */
  clientIds: string[]
  nonce: NonceMode
  algorithms: IdTokenAlgorithm[]
  /**
   * Seconds after a JWKS fetch during which a token with an unknown `kid` does not fetch the set
   * again (the rate limit of refetching; jose's `cooldownDuration`). Default 30.
   */
  jwksCooldownSeconds: number
}

export const APPLE_ISSUER = 'https://appleid.apple.com'
export const APPLE_JWKS_URI = 'https://appleid.apple.com/auth/keys'
export const GOOGLE_ISSUER = 'https://accounts.google.com'
/** Google's documentation: "The value of iss in the ID token is equal to accounts.google.com or https://accounts.google.com". */
export const GOOGLE_ISSUER_BARE = 'accounts.google.com'
export const GOOGLE_JWKS_URI = 'https://www.googleapis.com/oauth2/v3/certs'

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost'])

/**
 * A provider URL must be https (Core §3.1.3.7 relies on TLS for the keys; RFC 8414 §2 issuers
 * are https); plain http only to a loopback host outside production (development and the tests'
 * stand-in provider).
 */
export function providerUrl(what: string, value: string, production: boolean): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`${what} must be a URL; got ${JSON.stringify(value.slice(0, 200))}`)
  }
  if (url.protocol === 'https:') return value
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname) && !production) return value
  throw new ConfigError(`${what} must be an https URL (plain http is allowed only to a loopback host outside production); got ${JSON.stringify(value.slice(0, 200))}`)
}

function clientIds(what: string, ids: readonly string[]): string[] {
  const out = [...new Set(ids.map((s) => s.trim()).filter(Boolean))]
  if (out.length === 0) throw new ConfigError(`${what} must list at least one client id`)
  for (const id of out) if (id.length > 255 || /[\s,]/.test(id)) throw new ConfigError(`${what}: ${JSON.stringify(id.slice(0, 60))} is not a client id`)
  return out
}

function cooldown(what: string, value: number | undefined): number {
  if (value === undefined) return 30
  if (!Number.isFinite(value) || value < 0 || value > 3600) throw new ConfigError(`${what} must be 0 to 3600 seconds; got ${JSON.stringify(value)}`)
  return value
}

/** Resolves and checks the configured providers: names and issuers unique, URLs https (see `providerUrl`). */
export function resolveIdentityProviders(inputs: readonly IdentityProviderInput[], production: boolean): IdentityProvider[] {
  const out: IdentityProvider[] = []
  for (const p of inputs) {
    switch (p.type) {
      case 'apple':
        out.push({
          type: 'resolved',
          name: 'apple',
          issuer: APPLE_ISSUER,
          issuers: [APPLE_ISSUER],
          jwksUri: APPLE_JWKS_URI,
          allowLoopbackHttp: false,
          clientIds: clientIds('LATCHKEY_APPLE_CLIENT_IDS', p.clientIds),
          nonce: 'sha256',
          algorithms: ['RS256'],
          jwksCooldownSeconds: cooldown('apple jwksCooldownSeconds', p.jwksCooldownSeconds),
        })
        break
      case 'google':
        out.push({
          type: 'resolved',
          name: 'google',
          issuer: GOOGLE_ISSUER,
          issuers: [GOOGLE_ISSUER, GOOGLE_ISSUER_BARE],
          jwksUri: GOOGLE_JWKS_URI,
          allowLoopbackHttp: false,
          clientIds: clientIds('LATCHKEY_GOOGLE_CLIENT_IDS', p.clientIds),
          nonce: 'raw',
          algorithms: ['RS256'],
          jwksCooldownSeconds: cooldown('google jwksCooldownSeconds', p.jwksCooldownSeconds),
        })
        break
      case 'oidc': {
        const name = p.name ?? 'oidc'
        if (!NAME.test(name)) throw new ConfigError(`LATCHKEY_OIDC_NAME must be 1 to 32 of a-z, 0-9, _ and - (starting with a letter or digit); got ${JSON.stringify(name.slice(0, 40))}`)
        const issuer = providerUrl('LATCHKEY_OIDC_ISSUER', p.issuer, production)
        const algorithms = p.algorithms ?? ['RS256', 'ES256']
        if (algorithms.length === 0 || algorithms.some((a) => !ID_TOKEN_ALGORITHMS.includes(a))) {
          throw new ConfigError(`LATCHKEY_OIDC_ALGORITHMS must be RS256 and/or ES256 (never none or HS*); got ${JSON.stringify(algorithms)}`)
        }
        const nonce = p.nonce ?? 'raw'
        if (nonce !== 'raw' && nonce !== 'sha256') throw new ConfigError(`LATCHKEY_OIDC_NONCE must be raw or sha256; got ${JSON.stringify(nonce)}`)
        out.push({
          type: 'resolved',
          name,
          issuer,
          issuers: [issuer],
          jwksUri: p.jwksUri === undefined ? null : providerUrl('LATCHKEY_OIDC_JWKS_URI', p.jwksUri, production),
          allowLoopbackHttp: !production,
          clientIds: clientIds('LATCHKEY_OIDC_CLIENT_IDS', p.clientIds),
          nonce,
          algorithms,
          jwksCooldownSeconds: cooldown('LATCHKEY_OIDC_JWKS_COOLDOWN', p.jwksCooldownSeconds),
        })
        break
      }
      case 'resolved':
        out.push(p)
        break
      default:
        throw new ConfigError(`unknown identity provider type ${JSON.stringify((p as { type?: unknown }).type)} (apple, google or oidc)`)
    }
  }
  const names = new Set<string>()
  const issuers = new Set<string>()
  for (const p of out) {
    if (names.has(p.name)) throw new ConfigError(`identity provider ${JSON.stringify(p.name)} is configured twice`)
    names.add(p.name)
    for (const iss of p.issuers) {
      if (issuers.has(iss)) throw new ConfigError(`two identity providers have the issuer ${JSON.stringify(iss)}: an identity is (issuer, sub), so each issuer belongs to one provider`)
      issuers.add(iss)
    }
  }
  return out
}

/** The providers named by the environment: LATCHKEY_APPLE_CLIENT_IDS, LATCHKEY_GOOGLE_CLIENT_IDS, LATCHKEY_OIDC_*. */
export function identityProvidersFromEnv(get: (name: string) => string | undefined): IdentityProviderInput[] {
  const list = (name: string) => get(name)?.split(',') ?? []
  const out: IdentityProviderInput[] = []
  if (get('LATCHKEY_APPLE_CLIENT_IDS')) out.push({ type: 'apple', clientIds: list('LATCHKEY_APPLE_CLIENT_IDS') })
  if (get('LATCHKEY_GOOGLE_CLIENT_IDS')) out.push({ type: 'google', clientIds: list('LATCHKEY_GOOGLE_CLIENT_IDS') })
  const oidc = ['LATCHKEY_OIDC_ISSUER', 'LATCHKEY_OIDC_CLIENT_IDS']
  const set = [...oidc, 'LATCHKEY_OIDC_JWKS_URI'].filter((n) => get(n) !== undefined)
  if (set.length > 0) {
    if (oidc.some((n) => !set.includes(n))) throw new ConfigError(`a generic OpenID Connect provider needs all of ${oidc.join(', ')}; missing ${oidc.filter((n) => !set.includes(n)).join(', ')}`)
    const cool = get('LATCHKEY_OIDC_JWKS_COOLDOWN')
    if (cool !== undefined && !/^\d{1,4}$/.test(cool)) throw new ConfigError(`LATCHKEY_OIDC_JWKS_COOLDOWN must be 0 to 3600 seconds; got ${JSON.stringify(cool)}`)
    out.push({
      type: 'oidc',
      name: get('LATCHKEY_OIDC_NAME'),
      issuer: get('LATCHKEY_OIDC_ISSUER')!,
      jwksUri: get('LATCHKEY_OIDC_JWKS_URI'),
      clientIds: list('LATCHKEY_OIDC_CLIENT_IDS'),
      nonce: get('LATCHKEY_OIDC_NONCE') as NonceMode | undefined,
      algorithms: get('LATCHKEY_OIDC_ALGORITHMS')
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean) as IdTokenAlgorithm[] | undefined,
      jwksCooldownSeconds: cool === undefined ? undefined : Number(cool),
    })
  }
  const json = get('LATCHKEY_OIDC_PROVIDERS')
  if (json !== undefined) out.push(...oidcProvidersFromJson(json))
  return out
}

/**
 * `LATCHKEY_OIDC_PROVIDERS`: several generic OpenID Connect providers as a JSON array of
 * `{ name, issuer, clientIds, jwksUri?, nonce?, algorithms? }` (each checked like the others by
 * `resolveIdentityProviders`). `npm start` uses it for the example app's development stand-ins.
 */
function oidcProvidersFromJson(json: string): IdentityProviderInput[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    throw new ConfigError('LATCHKEY_OIDC_PROVIDERS must be a JSON array of {name, issuer, clientIds, jwksUri?, nonce?, algorithms?}')
  }
  if (!Array.isArray(parsed)) throw new ConfigError('LATCHKEY_OIDC_PROVIDERS must be a JSON array')
  return parsed.map((p: unknown, i) => {
    const o = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>
    const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined)
    if (!str('name') || !str('issuer') || !Array.isArray(o.clientIds) || !o.clientIds.every((c) => typeof c === 'string')) {
      throw new ConfigError(`LATCHKEY_OIDC_PROVIDERS[${i}] needs name, issuer and clientIds (an array of strings)`)
    }
    return {
      type: 'oidc' as const,
      name: str('name'),
      issuer: str('issuer')!,
      jwksUri: str('jwksUri'),
      clientIds: o.clientIds as string[],
      nonce: str('nonce') as NonceMode | undefined,
      algorithms: Array.isArray(o.algorithms) ? (o.algorithms as IdTokenAlgorithm[]) : undefined,
    }
  })
}
