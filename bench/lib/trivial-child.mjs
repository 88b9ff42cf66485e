// A trivial protected route on loopback: 200 when the bearer token matches, 401 otherwise.
// Used by fetch-overhead so the figure is the client's cost, not the server's.
import { createServer } from 'node:http'
import { childMain } from './children.mjs'

childMain(async ({ token }) => {
  const expected = `Bearer ${token}`
  const server = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' })
      res.end('{"error":"invalid_token"}')
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"ok":true}')
  })
  server.keepAliveTimeout = 30_000
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  return {
    info: { url: `http://127.0.0.1:${port}` },
    close: () => new Promise((r) => server.close(() => r())),
  }
})
