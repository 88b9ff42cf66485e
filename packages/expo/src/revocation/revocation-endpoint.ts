/**
 * What the presets take for RFC 7009 revocation: an endpoint, `false` for a server without one,
 * or nothing, and then it is derived from the token endpoint.
 */
export type RevocationEndpointOption = string | false | undefined

/**
 * The revocation endpoint the presets use. Sign-out must reach the server: without revocation the
 * refresh token (on the web, the httpOnly cookie, which page code cannot delete) stays valid for
 * the session's whole idle lifetime after the user signed out (OWASP ASVS 5.0 V7.4.1). So unless
 * the app names one, or opts out with `false` for a server that has no RFC 7009 endpoint, it sits
 * beside the token endpoint, where the Latchkey server has it: `…/oauth/token` → `…/oauth/revoke`
 * (a server mounted under a path keeps it), any other token endpoint → `<its origin>/oauth/revoke`.
 * Parsed by hand: React Native's URL class does not resolve or normalise.
 */
export function revocationEndpointFor(tokenEndpoint: string, option: RevocationEndpointOption): string | undefined {
  if (option === false) return undefined
  if (option !== undefined) return option
  const m = /^((?:[a-z][a-z\d+\-.]*:)?\/\/[^/?#]*)?(\/[^?#]*)?/i.exec(tokenEndpoint.trim())
  const origin = m?.[1] ?? ''
  const path = m?.[2] ?? ''
  if (!origin && !path.startsWith('/')) {
    throw new TypeError(`cannot derive a revocation endpoint from tokenEndpoint ${JSON.stringify(tokenEndpoint)}: pass revocationEndpoint (or false)`)
  }
  const sibling = /\/oauth\/token\/?$/.exec(path)
  return sibling ? `${origin}${path.slice(0, sibling.index)}/oauth/revoke` : `${origin}/oauth/revoke`
}
