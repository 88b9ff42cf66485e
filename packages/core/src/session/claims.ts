const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

function base64UrlToBytes(input: string): number[] | null {
  const bytes: number[] = []
  let buffer = 0
  let bits = 0
  for (const ch of input.replace(/=+$/, '')) {
    const value = ALPHABET.indexOf(ch)
    if (value < 0) return null
    buffer = (buffer << 6) | value
    bits += 6
    if (bits >= 8) {
      bits -= 8
      bytes.push((buffer >> bits) & 0xff)
    }
  }
  return bytes
}

/**
 * The payload of a JWT access token, for display only. It is not verified and must never be
 * used for an authorization decision; the resource server verifies the signature.
 */
export function decodeClaims(token: string): Record<string, unknown> | null {
  const parts = token.split('.')
  if (parts.length !== 3 || !parts[1]) return null
  const bytes = base64UrlToBytes(parts[1])
  if (!bytes) return null
  try {
    const json = decodeURIComponent(bytes.map((b) => '%' + b.toString(16).padStart(2, '0')).join(''))
    const payload: unknown = JSON.parse(json)
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : null
  } catch {
    return null
  }
}
