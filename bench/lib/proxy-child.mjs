// A pass-through HTTP proxy in front of the Latchkey server for refresh-storm. It counts the
// refresh requests (POST /oauth/token) every client sends, whatever the client library, and can
// answer them with 503 itself (the round in which the refresh endpoint is down).
import { createServer, request, Agent } from 'node:http'
import { childMain } from './children.mjs'

childMain(async ({ upstream }) => {
  const target = new URL(upstream)
  const agent = new Agent({ keepAlive: true })
  let refreshStatus = null
  let counts = { refreshCalls: 0, refreshAnswered503: 0, requests: 0 }
  const server = createServer((req, res) => {
    counts.requests++
    const isRefresh = req.method === 'POST' && req.url.startsWith('/oauth/token')
    if (isRefresh) counts.refreshCalls++
    if (isRefresh && refreshStatus) {
      counts.refreshAnswered503++
      req.resume()
      req.on('end', () => {
        res.writeHead(refreshStatus, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        res.end('{"error":"temporarily_unavailable","error_description":"the token endpoint is down (bench)"}')
      })
      return
    }
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode, upRes.headers)
        upRes.pipe(res)
      },
    )
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502)
      res.end()
    })
    req.pipe(up)
  })
  server.keepAliveTimeout = 30_000
  server.maxConnections = 10_000
  await new Promise((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r))
  return {
    info: { url: `http://127.0.0.1:${server.address().port}` },
    close: async () => {
      server.closeAllConnections()
      await new Promise((r) => server.close(() => r()))
      agent.destroy()
    },
    commands: {
      setRefreshStatus({ status }) {
        refreshStatus = status ?? null
        return refreshStatus
      },
      reset() {
        counts = { refreshCalls: 0, refreshAnswered503: 0, requests: 0 }
        return true
      },
      counts: () => counts,
    },
  }
})
