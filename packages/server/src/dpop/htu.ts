/**
 * RFC 9449 §4.3 check 9: the `htu` of a proof matches the URI of the request "ignoring any query
 * and fragment parts", compared after syntax-based and scheme-based normalisation (RFC 3986
 * §6.2.2 and §6.2.3, as §4.3 asks to reduce false negatives): scheme and host lowercased, the
 * default port dropped, dot segments removed, percent-encodings uppercased and those of unreserved
 * characters decoded, an empty path made "/". Undefined for anything that is not an absolute
 * http(s) URI.
 */
export function normalizeHtu(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  if (url.username !== '' || url.password !== '') return undefined
  // WHATWG URL parsing already lowercases scheme and host, drops the default port, resolves dot
  // segments and makes an empty path "/"; left: the case and the decoding of percent-encodings.
  const path = url.pathname.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16))
    return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${hex.toUpperCase()}`
  })
  return `${url.protocol}//${url.host}${path}`
}
