/**
 * Which origins get the access token. RFC 6750 §5.3: a bearer token must not be handed to a party
 * that is not meant to receive it, since whoever holds it can use it. `client.fetch` and
 * `attachAxios` send it, and refresh and replay on a 401, only for requests to these origins;
 * a request anywhere else goes out exactly as the caller built it.
 */
export type TokenOrigins = (url: string) => boolean

/**
 * The origin of an absolute http(s) URL; a relative one is resolved the way the platform's Request
 * does (against the document in a browser; Node and React Native have no base, so it has none).
 */
export function originOf(url: string): string | null {
  for (const resolve of [(u: string) => new URL(u), (u: string) => new URL(new Request(u).url)]) {
    try {
      const parsed = resolve(url)
      // Lower-cased: React Native's URL does not normalise (a mismatch there only withholds the token).
      return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.origin.toLowerCase() : null
    } catch {
      // not resolvable this way
    }
  }
  return null
}

/**
 * `configured`: the app's list (`tokenOrigins`), checked now. Else the token endpoint's origin,
 * when the refresh function says where that is (`oauth2Refresh` does); resolved on first use, so
 * a relative endpoint on the web means the page's origin. With neither, sending a token anywhere
 * is a configuration error, reported when it is tried, never a silent guess.
 */
export function tokenOrigins(configured: readonly string[] | undefined, tokenEndpoint: string | undefined): TokenOrigins {
  if (configured !== undefined) {
    if (!Array.isArray(configured)) throw new TypeError('createSessionClient: `tokenOrigins` must be an array of origins')
    const allowed = new Set(configured.map(checkedOrigin))
    return (url) => allowed.has(originOf(url) ?? '')
  }
  if (tokenEndpoint === undefined) {
    return () => {
      throw new TypeError(
        'createSessionClient: no `tokenOrigins`, and the refresh function does not say where its token endpoint is: ' +
          'pass `tokenOrigins` (the origins of your API) to let client.fetch and attachAxios send the access token',
      )
    }
  }
  let allowed: string | null | undefined
  return (url) => {
    allowed ??= originOf(tokenEndpoint)
    return allowed !== null && originOf(url) === allowed
  }
}

/** An origin as the app wrote it (`https://api.example.com`, a trailing slash allowed); a path would suggest a scope it does not have. */
function checkedOrigin(entry: string): string {
  let url: URL | undefined
  try {
    url = new URL(entry)
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new TypeError(`createSessionClient: \`tokenOrigins\` entries are origins such as https://api.example.com; got ${JSON.stringify(entry)}`)
  }
  return url.origin.toLowerCase()
}
