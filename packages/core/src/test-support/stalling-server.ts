import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A loopback server that answers with status and headers and the first bytes of a body, then
 * sends nothing more (a proxy or a radio handover that stalls a body mid-way). `stalled` resolves
 * each time a response reached that point, so tests wait for the event rather than a duration.
 * Where `answer` returns a response, it is sent whole instead.
 */
export async function startStallingServer(answer: (path: string, body: string) => { status: number; body: unknown } | null) {
  const open = new Set<ServerResponse>()
  let onStall: (() => void) | null = null
  const onRelease = new Set<() => void>()
  let stalls = 0
  const requests: string[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const path = req.url ?? '/'
      requests.push(path)
      const full = answer(path, Buffer.concat(chunks).toString())
      if (full) {
        res.writeHead(full.status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
        return void res.end(JSON.stringify(full.body))
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
      res.write('{"access_token":')
      open.add(res)
      res.on('close', () => {
        open.delete(res)
        if (open.size === 0) for (const wake of [...onRelease]) wake()
      })
      stalls++
      onStall?.()
    })
  })
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    requests,
    /** How many responses are stalled right now (their client has not gone away). */
    openStalls: () => open.size,
    /** Resolves once `n` responses in total have stalled. */
    stalled(n: number): Promise<void> {
      return new Promise((resolve) => {
        const check = () => {
          if (stalls >= n) {
            onStall = null
            resolve()
          }
        }
        onStall = check
        check()
      })
    },
    /** Resolves once every stalled response's client has gone away. */
    allReleased(): Promise<void> {
      if (open.size === 0) return Promise.resolve()
      return new Promise((resolve) => {
        const wake = () => {
          onRelease.delete(wake)
          resolve()
        }
        onRelease.add(wake)
      })
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
