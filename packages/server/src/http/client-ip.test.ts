import { Hono } from 'hono'
import { describe, expect, test } from 'vitest'
import { clientIp, ipBlock, parseIp, type ClientIpOptions } from './client-ip.js'

/** The middleware alone, through app.request() with a fake socket peer (as @hono/node-server passes it). */
async function resolve(options: ClientIpOptions, xff: string | undefined, peer: string | null = '10.0.0.2') {
  const app = new Hono()
  app.use(clientIp(options))
  app.get('/', (c) => c.json({ ip: c.var.ip, ipBlock: c.var.ipBlock }))
  const headers: Record<string, string> = xff === undefined ? {} : { 'x-forwarded-for': xff }
  const env = peer === null ? undefined : { incoming: { socket: { remoteAddress: peer, remotePort: 40000, remoteFamily: 'IPv4' } } }
  const res = await app.request('/', { headers }, env)
  return (await res.json()) as { ip: string | null; ipBlock: string | null }
}

const oneHop = { trustProxy: true, trustedHops: 1 }

describe('client address behind trusted proxies (X-Forwarded-For, entries appended left to right)', () => {
  test('one hop: the entry the nearest proxy appended (rightmost), never what the client wrote on the left', async () => {
    expect(await resolve(oneHop, '6.6.6.6, 203.0.113.7')).toEqual({ ip: '203.0.113.7', ipBlock: '203.0.113.7' })
    expect(await resolve(oneHop, '203.0.113.7')).toEqual({ ip: '203.0.113.7', ipBlock: '203.0.113.7' })
  })

  test('hops=2 picks the second from the right', async () => {
    expect((await resolve({ trustProxy: true, trustedHops: 2 }, '6.6.6.6, 203.0.113.7, 10.1.1.1')).ip).toBe('203.0.113.7')
  })

  test('fewer entries than hops: the leftmost (every entry then came from a proxy of ours)', async () => {
    expect((await resolve({ trustProxy: true, trustedHops: 3 }, '203.0.113.7, 10.1.1.1')).ip).toBe('203.0.113.7')
  })

  test('two X-Forwarded-For fields count as one list, in order', async () => {
    const app = new Hono()
    app.use(clientIp(oneHop))
    app.get('/', (c) => c.text(c.var.ip ?? 'null'))
    const headers = new Headers([['x-forwarded-for', '6.6.6.6'], ['x-forwarded-for', '203.0.113.7']])
    expect(await (await app.request('/', { headers })).text()).toBe('203.0.113.7')
  })

  test.each([
    ['garbage', 'not an address'],
    ['empty entries', ' , ,'],
    ['a host name', 'evil.example'],
    ['an overlong value', '1'.repeat(5000)],
    ['a CIDR block', '203.0.113.0/24'],
  ])('a garbage X-Forwarded-For (%s) falls back to the peer, the proxy itself', async (_name, xff) => {
    expect(await resolve(oneHop, `203.0.113.9, ${xff}`)).toEqual({ ip: '10.0.0.2', ipBlock: '10.0.0.2' })
  })

  test('without trustProxy the header is ignored: the peer address', async () => {
    expect((await resolve({ trustProxy: false, trustedHops: 1 }, '203.0.113.7')).ip).toBe('10.0.0.2')
  })

  test('no socket and no header (app.request in tests): null', async () => {
    expect(await resolve(oneHop, undefined, null)).toEqual({ ip: null, ipBlock: null })
  })

  test('the factory checks its options when it runs', () => {
    expect(() => clientIp({ trustProxy: true, trustedHops: 0 })).toThrow(RangeError)
    expect(() => clientIp({ trustProxy: true, trustedHops: 1.5 })).toThrow(RangeError)
  })
})

describe('addresses and their rate-limit block', () => {
  test.each([
    ['203.0.113.7', '203.0.113.7'],
    ['203.0.113.7:4711', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:cb00:7107', '203.0.113.7'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
  ])('%s is %s', (raw, canonical) => expect(parseIp(raw)).toBe(canonical))

  test.each(['', 'x', '256.1.1.1', '01.2.3.4', '1.2.3', '2001:db8::1::2', 'evil.example', '[1.2.3.4]x'])('%j is not an address', (raw) => {
    expect(parseIp(raw)).toBeNull()
  })

  test('IPv6 addresses in one /64 share a block; the next /64 is another', () => {
    expect(ipBlock('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64')
    expect(ipBlock('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64')
    expect(ipBlock('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64')
    expect(ipBlock('2001:db8::1')).toBe('2001:db8::/64')
    expect(ipBlock('::1')).toBe('::/64')
  })

  test('IPv4 (also when it arrived IPv4-mapped on a dual-stack socket) is its own block', () => {
    expect(ipBlock(parseIp('::ffff:198.51.100.1')!)).toBe('198.51.100.1')
    expect(ipBlock(parseIp('::ffff:198.51.100.2')!)).toBe('198.51.100.2')
  })
})
