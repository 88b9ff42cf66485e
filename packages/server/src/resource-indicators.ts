import { invalidTarget } from './http/errors.js'

/**
 * RFC 8707 §2: a resource indicator is an absolute URI with no fragment (a query is discouraged
 * but allowed). Printable ASCII only and bounded, as any parameter here; compared byte for byte.
 */
export function isResourceIndicator(value: string): boolean {
  if (value.length === 0 || value.length > 2048 || !/^[\x21-\x7e]+$/.test(value) || value.includes('#')) return false
  try {
    // Without a base, only an absolute URI (one with a scheme) parses.
    new URL(value)
    return true
  } catch {
    return false
  }
}

/** Which `aud` a token request gets: its `resource` (RFC 8707), or the auth server's own audience without one. */
export interface AudiencePolicy {
  /** The audience of tokens for this server's own endpoints (/me, sessions, sign-out). */
  readonly own: string
  /** The configured resource servers, in the order given. */
  readonly resources: readonly string[]
  /**
   * The audience for a token request's raw `resource` parameter (undefined: not given). Throws
   * 400 `invalid_target` for a malformed or unknown one, and for more than one (one `aud` per token).
   */
  audienceFor(resource: unknown): string
}

export function createAudiencePolicy(o: { own: string; resources: readonly string[] }): AudiencePolicy {
  const known = new Set([o.own, ...o.resources])
  const audienceFor = (resource: unknown): string => {
    if (resource === undefined) return o.own
    // RFC 8707 §2 allows several `resource` values in one request; this server issues one
    // audience per access token (so a token is good at one service only), and refuses them.
    if (Array.isArray(resource)) {
      if (resource.length !== 1) throw invalidTarget('give one resource per token request (an access token has one audience)')
      return audienceFor(resource[0])
    }
    if (typeof resource !== 'string' || !isResourceIndicator(resource)) throw invalidTarget('resource must be an absolute URI without a fragment (RFC 8707 §2)')
    if (!known.has(resource)) throw invalidTarget('resource is not a resource server this server issues tokens for')
    return resource
  }
  return { own: o.own, resources: [...o.resources], audienceFor }
}
