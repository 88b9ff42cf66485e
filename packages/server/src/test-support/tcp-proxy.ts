import net from 'node:net'

/**
 * A TCP proxy on loopback in front of one address, for network faults under a real protocol:
 * `freeze()` makes every connection through it silent (bytes stop in both directions, nothing is
 * closed: a half-open connection, as a dead NAT entry or a pulled cable leaves it); `thaw()` lets
 * new connections through again (frozen ones stay dead); `close()` ends everything.
 */
export interface TcpProxy {
  /** host:port to connect to instead of the target. */
  readonly port: number
  /** `url` with its host and port replaced by the proxy's. */
  through(url: string): string
  freeze(): void
  thaw(): void
  /** Connections accepted so far. */
  readonly accepted: number
  close(): Promise<void>
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket; frozen: boolean }>()
  let frozen = false
  let accepted = 0
  const server = net.createServer((client) => {
    accepted++
    const upstream = net.connect(target.port, target.host)
    const pair = { client, upstream, frozen }
    pairs.add(pair)
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk) => {
        if (!pair.frozen) to.write(chunk)
      })
    forward(client, upstream)
    forward(upstream, client)
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    through(url) {
      const u = new URL(url)
      u.hostname = '127.0.0.1'
      u.port = String(port)
      return u.toString()
    },
    freeze() {
      frozen = true
      for (const p of pairs) p.frozen = true
    },
    thaw() {
      frozen = false
    },
    get accepted() {
      return accepted
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy()
        p.upstream.destroy()
      }
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
