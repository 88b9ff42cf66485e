import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHash, randomUUID } from 'node:crypto'
import { EmbeddedJWK, calculateJwkThumbprint, jwtVerify, type JWTPayload } from 'jose'

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => (text += c))
    req.on('end', () => resolve(text))
    req.on('error', reject)
  })

export interface SeenProof {
  path: string
  payload: JWTPayload & { htm?: string; htu?: string; nonce?: string; ath?: string }
  header: Record<string, unknown>
  jkt: string
}

/**
 * A small RFC 9449 server on loopback whose every check is jose's: `POST /sign-in`, `POST /token`
 * (refresh, rotation), `POST /revoke`, and `/api/*` resources. Proofs are verified (§4.3: typ,
 * ES256, embedded public JWK, signature, htm, htu, iat window, one-time jti, nonce when required,
 * ath for resources), tokens are bound to the key's thumbprint (§6.1).
 */
export async function startDpopServer(options: { now: () => number; requireNonce?: boolean }) {
  let nonce = randomUUID()
  const state = {
    requireNonce: options.requireNonce ?? false,
    proofs: [] as SeenProof[],
    jtis: new Set<string>(),
    /** access token → jkt ('' for bearer) */
    access: new Map<string, string>(),
    refresh: new Map<string, string>(),
    revoked: [] as string[],
    expireAccess: false,
    failures: [] as string[],
    clientSecret: null as string | null,
    /** Every proof arrives with a stale nonce (the nonce changes as each request arrives). */
    rotateEveryRequest: false,
    /** The next proof is refused (invalid_dpop_proof), with nothing new for the client to learn. */
    refuseNextProof: false,
    tokenRequests: 0,
  }
  let n = 0
  let origin = ''

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers })
    res.end(JSON.stringify(body))
  }

  /** Verifies the request's proof; returns its jkt, or answers the error and returns null. */
  const proofOf = async (req: IncomingMessage, res: ServerResponse, path: string, accessToken: string | undefined, asResource: boolean): Promise<string | null | undefined> => {
    const header = req.headers.dpop
    if (header === undefined) return undefined
    const fail = (error: string, why: string) => {
      state.failures.push(why)
      if (asResource) sendJson(res, 401, { error }, { 'WWW-Authenticate': `DPoP error="${error}"` })
      else sendJson(res, 400, { error, error_description: why })
      return null
    }
    if (typeof header !== 'string') return fail('invalid_dpop_proof', 'several DPoP headers')
    try {
      const { payload, protectedHeader } = await jwtVerify(header, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] })
      const jwk = protectedHeader.jwk!
      if ('d' in jwk) return fail('invalid_dpop_proof', 'private key in the header')
      const p = payload as SeenProof['payload']
      const jkt = await calculateJwkThumbprint(jwk)
      state.proofs.push({ path, payload: p, header: protectedHeader as Record<string, unknown>, jkt })
      if (state.refuseNextProof) {
        state.refuseNextProof = false
        return fail('invalid_dpop_proof', 'refused')
      }
      if (p.htm !== req.method) return fail('invalid_dpop_proof', 'htm')
      if (p.htu !== `${origin}${path}`) return fail('invalid_dpop_proof', `htu ${String(p.htu)}`)
      if (typeof p.iat !== 'number' || Math.abs(p.iat - options.now() / 1000) > 60) return fail('invalid_dpop_proof', 'iat')
      if (typeof p.jti !== 'string' || state.jtis.has(p.jti)) return fail('invalid_dpop_proof', 'jti reused')
      state.jtis.add(p.jti)
      if (accessToken !== undefined && p.ath !== createHash('sha256').update(accessToken).digest('base64url')) return fail('invalid_dpop_proof', 'ath')
      if (state.rotateEveryRequest) nonce = randomUUID()
      if (state.requireNonce && p.nonce !== nonce) {
        state.failures.push('nonce')
        if (asResource) sendJson(res, 401, { error: 'use_dpop_nonce' }, { 'WWW-Authenticate': 'DPoP error="use_dpop_nonce"', 'DPoP-Nonce': nonce })
        else sendJson(res, 400, { error: 'use_dpop_nonce' }, { 'DPoP-Nonce': nonce })
        return null
      }
      return jkt
    } catch (error) {
      return fail('invalid_dpop_proof', (error as Error).message)
    }
  }

  const issue = (res: ServerResponse, jkt: string | undefined) => {
    n++
    const at = `at-${n}`
    const rt = `rt-${n}`
    state.access.set(at, jkt ?? '')
    state.refresh.set(rt, jkt ?? '')
    sendJson(res, 200, { access_token: at, refresh_token: rt, token_type: jkt ? 'DPoP' : 'Bearer', expires_in: 600 })
  }

  const server = createServer((req, res) => {
    void (async () => {
      // The server's clock is `now` (a test may drive it): its Date header says the same.
      res.setHeader('Date', new Date(options.now()).toUTCString())
      const path = (req.url ?? '/').split('?')[0]!
      const body = await readBody(req)
      const form = new URLSearchParams(body)
      if (req.method === 'POST' && path === '/sign-in') {
        const jkt = await proofOf(req, res, path, undefined, false)
        if (jkt === null) return
        return issue(res, jkt)
      }
      if (req.method === 'POST' && (path === '/token' || path === '/revoke')) {
        if (path === '/token') state.tokenRequests++
        if (state.clientSecret !== null) {
          const basic = `Basic ${Buffer.from(`${encodeURIComponent('client')}:${encodeURIComponent(state.clientSecret)}`).toString('base64')}`
          if (req.headers.authorization !== basic) return sendJson(res, 401, { error: 'invalid_client' })
        }
        const token = form.get(path === '/token' ? 'refresh_token' : 'token') ?? ''
        const bound = state.refresh.get(token)
        const jkt = await proofOf(req, res, path, undefined, false)
        if (jkt === null) return
        if (path === '/revoke') {
          if (bound && jkt !== bound) return sendJson(res, 400, { error: 'invalid_dpop_proof' })
          state.revoked.push(token)
          state.refresh.delete(token)
          return sendJson(res, 200, {})
        }
        if (bound === undefined) return sendJson(res, 400, { error: 'invalid_grant' })
        if (bound !== '' && jkt !== bound) return sendJson(res, 400, { error: 'invalid_dpop_proof', error_description: 'the refresh token is bound to another key' })
        state.refresh.delete(token)
        return issue(res, bound || undefined)
      }
      if (path.startsWith('/api/')) {
        const [scheme, token] = (req.headers.authorization ?? '').split(' ')
        const bound = state.access.get(token ?? '')
        const invalidToken = () => sendJson(res, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'DPoP error="invalid_token"' })
        if (bound === undefined) return invalidToken()
        if (bound !== '' && scheme !== 'DPoP') return invalidToken()
        const jkt = await proofOf(req, res, path, token, true)
        if (jkt === null) return
        if (bound !== '' && jkt !== bound) return sendJson(res, 401, { error: 'invalid_dpop_proof' }, { 'WWW-Authenticate': 'DPoP error="invalid_dpop_proof"' })
        if (state.expireAccess) {
          state.expireAccess = false
          state.access.delete(token!)
          return invalidToken()
        }
        return sendJson(res, 200, { ok: true, body })
      }
      sendJson(res, 404, { error: 'not_found' })
    })().catch((error: unknown) => {
      res.writeHead(500)
      res.end(String(error))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    state,
    rotateNonce: () => (nonce = randomUUID()),
    nonce: () => nonce,
    proofsAt: (path: string) => state.proofs.filter((p) => p.path === path),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
export type DpopServer = Awaited<ReturnType<typeof startDpopServer>>
