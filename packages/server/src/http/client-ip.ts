import { isIPv4, isIPv6 } from 'node:net'
import type { Context, MiddlewareHandler } from 'hono'
import { getConnInfo } from '@hono/node-server/conninfo'

export interface ClientIpOptions {
  /**
   * Take the address from `X-Forwarded-For`. Only behind reverse proxies you run, which clients
   * cannot go around: anyone who reaches the server directly writes that header themselves.
   */
  trustProxy: boolean
  /**
   * How many of your proxies append to `X-Forwarded-For` (1 to 9). Each appends the address it
   * received the request from, so the client is the entry this many from the right; entries
   * further left were written by the client and are never read.
   */
  trustedHops: number
}

declare module 'hono' {
  interface ContextVariableMap {
    /** The client's address (canonical text; IPv4-mapped IPv6 as IPv4), for the audit log; null if unknown. */
    ip: string | null
    /**
     * What per-IP rate limits count against: the IPv4 address, or the IPv6 /64 it lies in (one
     * home network or phone gets a whole /64, so one client can use any address in it).
     */
    ipBlock: string | null
  }
}

/**
 * Resolves the client address once per request and sets `c.var.ip` and `c.var.ipBlock`. Without
 * `trustProxy` it is the connection's peer; with it, the entry `trustedHops` from the right of
 * `X-Forwarded-For` (RFC 7239 §5.2: proxies append), or the leftmost when there are fewer entries
 * (then every entry came from a proxy of yours). An entry that is not an IP address falls back to
 * the peer (your proxy), so a malformed header can never mint a fresh rate-limit key.
 */
export function clientIp(options: ClientIpOptions): MiddlewareHandler {
  const { trustProxy, trustedHops } = options
  if (!Number.isInteger(trustedHops) || trustedHops < 1 || trustedHops > 9) {
    throw new RangeError(`clientIp: trustedHops must be an integer from 1 to 9; got ${String(trustedHops)}`)
  }
  return async function clientIp(c, next) {
    const peer = parseIp(peerAddress(c))
    const ip = (trustProxy ? forwardedFor(c.req.header('x-forwarded-for'), trustedHops) : undefined) ?? peer
    c.set('ip', ip)
    c.set('ipBlock', ip === null ? null : ipBlock(ip))
    await next()
  }
}

function peerAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address
  } catch {
    return undefined // not served by @hono/node-server (app.request in tests)
  }
}

/** The entry `hops` from the right of an X-Forwarded-For value, parsed; undefined if absent or not an address. */
export function forwardedFor(header: string | undefined, hops: number): string | undefined {
  if (!header) return undefined
  // Several X-Forwarded-For fields arrive joined with ", " (RFC 9110 §5.3), in order.
  const entries = header.split(',').map((s) => s.trim())
  const entry = entries[Math.max(0, entries.length - hops)]
  return parseIp(entry) ?? undefined
}

/**
 * An address in canonical text, or null: IPv4 dotted quad; IPv6 as RFC 5952 (lowercase, `::`
 * compressed), zone dropped; IPv4-mapped IPv6 (`::ffff:a.b.c.d`, what a dual-stack socket
 * reports for IPv4 clients) as the IPv4 address. Accepts `1.2.3.4:port` and `[v6]:port`.
 */
export function parseIp(value: string | undefined): string | null {
  if (value === undefined) return null
  let s = value.trim()
  if (s.length === 0 || s.length > 100) return null
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(s)
  if (bracketed) s = bracketed[1]!
  else if (/^[\d.]+:\d{1,5}$/.test(s)) s = s.slice(0, s.lastIndexOf(':'))
  s = s.replace(/%[\w.-]+$/, '') // zone id (fe80::1%eth0)
  if (isIPv4(s)) return s
  if (!isIPv6(s)) return null
  // The WHATWG URL parser prints IPv6 in RFC 5952 form (and embedded IPv4 as hex).
  const canonical = new URL(`http://[${s}]/`).hostname.slice(1, -1)
  const groups = expandIPv6(canonical)
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.')
  }
  return canonical
}

/** The rate-limit key of a canonical address: IPv4 as is, IPv6 its /64 (`2001:db8:1:2::/64`). */
export function ipBlock(ip: string): string {
  if (!ip.includes(':')) return ip
  const groups = expandIPv6(ip)
  const prefix = new URL(`http://[${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::]/`).hostname.slice(1, -1)
  return `${prefix}/64`
}

/** Eight 16-bit groups of a hex-only IPv6 text (as the URL parser prints it). */
function expandIPv6(ip: string): number[] {
  const [head = '', tail] = ip.split('::')
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)))
  const left = parse(head)
  const right = tail === undefined ? [] : parse(tail)
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right]
}
