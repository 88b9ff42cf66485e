const encoder = new TextEncoder()

export const utf8Length = (text: string): number => encoder.encode(text).length

/** UTF-8 length of one code point (as `for..of` yields it; a lone surrogate encodes as U+FFFD). */
const codePointBytes = (cp: string): number => {
  const c = cp.codePointAt(0)!
  if (c < 0x80) return 1
  if (c < 0x800) return 2
  if (c >= 0xd800 && c <= 0xdfff) return 3
  return c < 0x10000 ? 3 : 4
}

/**
 * Splits text into pieces of at most `maxBytes` UTF-8 bytes, only between code points, so every
 * piece is a valid string and joining them gives the input back exactly.
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
  if (maxBytes < 4) throw new RangeError('splitUtf8: maxBytes must be at least 4')
  const pieces: string[] = []
  let current = ''
  let bytes = 0
  for (const cp of text) {
    const n = codePointBytes(cp)
    if (bytes + n > maxBytes) {
      pieces.push(current)
      current = ''
      bytes = 0
    }
    current += cp
    bytes += n
  }
  if (current !== '' || pieces.length === 0) pieces.push(current)
  return pieces
}

/** FNV-1a (32 bit) over the UTF-8 bytes: detects a piece that is not the one the manifest names. */
export function fnv1a(text: string): string {
  let hash = 0x811c9dc5
  for (const byte of encoder.encode(text)) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0).toString(36)
}
