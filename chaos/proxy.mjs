// The faulting proxy: one node:http server in the runner's process, in front of every server
// process. Each request names its install (`x-chaos-install`); the install's current fault plan
// decides what happens to it, and every request's timeline is recorded.
import http from 'node:http'

export const INSTALL_HEADER = 'x-chaos-install'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * @typedef {{ type: string, holdMs?: number, delayMs?: number }} Fault
 * @typedef {{
 *   id: number, install: string | null, method: string, path: string, fault: string | null,
 *   at: number, forwardedAt: number | null, upstreamAt: number | null, upstreamStatus: number | null,
 *   upstreamError: string | null, backend: string | null, injectedStatus: number | null,
 *   delivered: boolean, settledAt: number | null, clientGone: boolean, refreshToken?: string | null,
 * }} ProxyRecord
 */

/**
 * @param {{
 *   backendFor: (install: string | null, path: string) => { name: string, url: string } | null,
 *   isKilled: (backendName: string, since: number) => boolean,
 *   faultFor: (install: string | null, path: string) => Fault | null,
 *   onForward?: (record: ProxyRecord) => void,
 *   onRecord?: (record: ProxyRecord) => void,
 * }} o
 */
export async function startProxy(o) {
  /** @type {ProxyRecord[]} */
  const records = []
  let seq = 0

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500).end(String(e))
    })
  })
  // Holds of up to 60 s must not be cut by the server's own request timeouts.
  server.requestTimeout = 0
  server.headersTimeout = 0
  server.keepAliveTimeout = 65_000

  async function handle(req, res) {
    const install = /** @type {string | undefined} */ (req.headers[INSTALL_HEADER]) ?? null
    const path = (req.url ?? '/').split('?')[0]
    /** @type {ProxyRecord} */
    const rec = {
      id: ++seq, install, method: req.method ?? 'GET', path, fault: null, at: Date.now(),
      forwardedAt: null, upstreamAt: null, upstreamStatus: null, upstreamError: null, backend: null,
      injectedStatus: null, delivered: false, settledAt: null, clientGone: false,
    }
    records.push(rec)
    o.onRecord?.(rec)
    let finished = false
    res.on('finish', () => {
      finished = true
    })
    res.on('close', () => {
      if (!finished) rec.clientGone = true
      rec.settledAt ??= Date.now()
    })
    const body = await readAll(req)
    if (path === '/oauth/token') rec.refreshToken = new URLSearchParams(body.toString()).get('refresh_token')
    const fault = o.faultFor(install, path)
    rec.fault = fault?.type ?? null
    const deliver = (status, headers, payload) => {
      if (rec.clientGone || res.destroyed) return
      res.writeHead(status, headers)
      res.end(payload, () => {
        rec.delivered = true
        rec.settledAt = Date.now()
      })
    }
    const resetClient = () => {
      rec.settledAt = Date.now()
      req.socket.destroy()
    }

    switch (fault?.type) {
      case 'reset':
        return resetClient()
      case '502':
      case '503':
        rec.injectedStatus = Number(fault.type)
        return deliver(rec.injectedStatus, { 'content-type': 'text/plain' }, `injected ${fault.type}`)
      case 'hold-request':
        await sleep(fault.holdMs)
        if (rec.clientGone) return
        break
      case 'delay':
        await sleep(fault.delayMs / 2)
        if (rec.clientGone) return
        break
    }

    const backend = o.backendFor(install, path)
    if (!backend) return resetClient() // nothing listening for this group: connection refused
    rec.backend = backend.name
    rec.forwardedAt = Date.now()
    o.onForward?.(rec)
    let upstream
    try {
      upstream = await forward(backend.url, req, body)
    } catch (e) {
      rec.upstreamError = o.isKilled(backend.name, rec.forwardedAt) ? 'killed' : (e.code ?? e.message)
      return resetClient()
    }
    rec.upstreamAt = Date.now()
    rec.upstreamStatus = upstream.status
    const headers = upstream.headers

    switch (fault?.type) {
      case 'drop-answer':
        return resetClient()
      case 'delay':
        await sleep(fault.delayMs / 2)
        break
      case 'hold-answer':
        await sleep(fault.holdMs)
        break
      case 'stall-body':
        if (rec.clientGone || res.destroyed) return
        res.writeHead(upstream.status, headers)
        res.flushHeaders()
        return // no body bytes until the client goes away
    }
    deliver(upstream.status, headers, upstream.body)
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  return {
    url: `http://127.0.0.1:${port}`,
    records,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve(undefined))
      }),
  }
}

function readAll(stream) {
  return new Promise((resolve, reject) => {
    const chunks = []
    stream.on('data', (c) => chunks.push(c))
    stream.on('end', () => resolve(Buffer.concat(chunks)))
    stream.on('error', reject)
  })
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length'])

/** One request to the backend on a fresh connection; the whole answer is read before returning. */
function forward(base, req, body) {
  return new Promise((resolve, reject) => {
    const target = new URL(req.url ?? '/', base)
    const headers = {}
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && k !== INSTALL_HEADER) headers[k] = v
    headers['content-length'] = String(body.length)
    headers['x-forwarded-for'] = req.headers['x-forwarded-for'] ?? req.socket.remoteAddress ?? '127.0.0.1'
    const up = http.request(target, { method: req.method, headers, agent: false }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const out = {}
        for (const [k, v] of Object.entries(res.headers)) if (!HOP.has(k)) out[k] = v
        const payload = Buffer.concat(chunks)
        out['content-length'] = String(payload.length)
        resolve({ status: res.statusCode ?? 0, headers: out, body: payload })
      })
      res.on('error', reject)
      res.on('aborted', () => reject(Object.assign(new Error('upstream aborted'), { code: 'ECONNRESET' })))
    })
    up.on('error', reject)
    up.end(body)
  })
}
