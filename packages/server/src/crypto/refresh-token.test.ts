import { randomBytes } from 'node:crypto'
import { expect, test } from 'vitest'
import { formatRefreshToken, macKeyFromSecret, newSessionId, newSessionSecret, parseRefreshToken, verifyRefreshMac } from './refresh-token.js'

const key = macKeyFromSecret(randomBytes(32).toString('base64url'))

test('format → parse → verify round trip; any change to id, counter, secret or key fails', () => {
  const sid = newSessionId()
  const secret = newSessionSecret()
  const token = formatRefreshToken(key, sid, 7, secret)
  const parts = parseRefreshToken(token)!
  expect(parts.sessionId).toBe(sid)
  expect(parts.counter).toBe(7)
  expect(verifyRefreshMac(key, parts, secret)).toBe(true)
  expect(verifyRefreshMac(key, parts, newSessionSecret())).toBe(false)
  expect(verifyRefreshMac(macKeyFromSecret('another secret of at least 32 chars!!'), parts, secret)).toBe(false)
  expect(verifyRefreshMac(key, { ...parts, counter: 8 }, secret)).toBe(false)
  expect(verifyRefreshMac(key, { ...parts, sessionId: newSessionId() }, secret)).toBe(false)
})

test('tokens carry ≥ 128 bits: distinct per session and per counter', () => {
  const seen = new Set<string>()
  for (let i = 0; i < 200; i++) seen.add(formatRefreshToken(key, newSessionId(), 0, newSessionSecret()))
  const sid = newSessionId()
  const secret = newSessionSecret()
  for (let c = 0; c < 50; c++) seen.add(formatRefreshToken(key, sid, c, secret))
  expect(seen.size).toBe(250)
  expect(formatRefreshToken(key, sid, 0, secret).split('.')[2]).toHaveLength(43) // 256-bit MAC
})

test.each([
  '',
  'a.b.c',
  `${newSessionId()}.01.${'A'.repeat(43)}`,
  `${newSessionId()}.-1.${'A'.repeat(43)}`,
  `${newSessionId()}.99999999999.${'A'.repeat(43)}`,
  `${newSessionId()}.1.${'A'.repeat(42)}`,
  `${newSessionId()}.1.${'A'.repeat(43)}.extra`,
  `${newSessionId()} .1.${'A'.repeat(43)}`,
  'x'.repeat(5000),
])('parse rejects %j', (t) => {
  expect(parseRefreshToken(t)).toBeNull()
})

test('parse rejects non-strings', () => {
  for (const v of [undefined, null, 1, {}, []]) expect(parseRefreshToken(v)).toBeNull()
})
