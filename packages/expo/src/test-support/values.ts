const encoder = new TextEncoder()

/** Multi-byte text of about `bytes` UTF-8 bytes (1-, 2-, 3- and 4-byte code points, a ZWJ sequence). */
export function textOfBytes(bytes: number, seed = 'a'): string {
  const unit = `${seed}é漢🔐👩‍👧x`
  let out = ''
  while (encoder.encode(out).length + encoder.encode(unit).length <= bytes) out += unit
  while (encoder.encode(out).length < bytes) out += seed.slice(0, 1) || 'a'
  return out
}

export const utf8 = (s: string) => encoder.encode(s).length
