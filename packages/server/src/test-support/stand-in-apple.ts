import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ServerResponse } from 'node:http'
import { SignJWT, exportSPKI, importSPKI, jwtVerify, type CryptoKey } from 'jose'

/**
 * A loopback stand-in for Apple's token and revocation endpoints (https://appleid.apple.com/auth/token
 * and /auth/revoke), checking what Apple documents: a form body; `client_secret` an ES256 JWT with
 * `kid` = the key id, iss = the team id, aud = https://appleid.apple.com, sub = the client id, signed
 * by the app's key; a one-time authorization code (an unknown or used code: 400 invalid_grant).
 * The exchange answers an access token, a refresh token and an ID token (sub, aud) as Apple does.
 * `stop()`/`start()` take it down and bring it back on the same port.
 */
export class StandInApple {
  readonly teamId = 'TEAM123456'
  readonly keyId = 'KEY1234567'
  readonly privateKeyPem: string
  readonly #publicKey: ReturnType<typeof generateKeyPairSync>['publicKey']
  readonly #idTokenKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  readonly #codes = new Map<string, { sub: string; clientId: string }>()
  /** Refresh tokens issued, and those revoked (each revocation call's token, in order). */
  readonly issued: string[] = []
  readonly revoked: string[] = []
  /** Requests refused for a bad client secret or form (should stay empty). */
  readonly refusals: string[] = []
  #server: Server | undefined
  port = 0

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    this.privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
    this.#publicKey = publicKey
  }

  get tokenEndpoint(): string {
    return `http://127.0.0.1:${this.port}/auth/token`
  }

  get revokeEndpoint(): string {
    return `http://127.0.0.1:${this.port}/auth/revoke`
  }

  /** An authorization code for `sub` at `clientId`, as Apple gives the app beside the ID token. */
  code(sub: string, clientId: string): string {
    const code = `c${randomBytes(16).toString('hex')}.0.abcd.${randomBytes(8).toString('hex')}`
    this.#codes.set(code, { sub, clientId })
    return code
  }

  async start(): Promise<void> {
    const pub = await importSPKI(await exportSPKI(this.#publicKey as never), 'ES256')
    const server = createServer((req, res) => {
      let raw = ''
      req.on('data', (d: Buffer) => (raw += d.toString()))
      req.on('end', () => void this.#answer(req.url ?? '', req.headers['content-type'], new URLSearchParams(raw), pub, res))
    })
    server.listen(this.port, '127.0.0.1')
    await once(server, 'listening')
    this.port = (server.address() as AddressInfo).port
    this.#server = server
  }

  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (server) {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    }
  }

  async #answer(path: string, type: string | undefined, f: URLSearchParams, pub: CryptoKey, res: ServerResponse): Promise<void> {
    const json = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    const clientId = f.get('client_id') ?? ''
    try {
      if (type !== 'application/x-www-form-urlencoded') throw new Error('content-type')
      const { protectedHeader } = await jwtVerify(f.get('client_secret') ?? '', pub, { algorithms: ['ES256'], issuer: this.teamId, audience: 'https://appleid.apple.com', subject: clientId, requiredClaims: ['iat', 'exp'] })
      if (protectedHeader.kid !== this.keyId) throw new Error('kid')
    } catch (e) {
      this.refusals.push(`${path}: ${(e as Error).message}`)
      return json(400, { error: 'invalid_client' })
    }
    if (path === '/auth/token') {
      const code = this.#codes.get(f.get('code') ?? '')
      if (f.get('grant_type') !== 'authorization_code' || !code || code.clientId !== clientId) return json(400, { error: 'invalid_grant' })
      this.#codes.delete(f.get('code')!)
      const refresh = `r${randomBytes(16).toString('hex')}.0.rtxx.${randomBytes(8).toString('hex')}`
      this.issued.push(refresh)
      const now = Math.floor(Date.now() / 1000)
      const idToken = await new SignJWT({ sub: code.sub }).setProtectedHeader({ alg: 'ES256', kid: 'stand-in' }).setIssuer('https://appleid.apple.com').setAudience(clientId).setIssuedAt(now).setExpirationTime(now + 600).sign(this.#idTokenKey)
      return json(200, { access_token: `a${randomBytes(8).toString('hex')}`, token_type: 'Bearer', expires_in: 3600, refresh_token: refresh, id_token: idToken })
    }
    if (path === '/auth/revoke') {
      if (!['refresh_token', 'access_token'].includes(f.get('token_type_hint') ?? '')) return json(400, { error: 'invalid_request' })
      this.revoked.push(f.get('token') ?? '')
      res.writeHead(200).end()
      return
    }
    json(404, { error: 'not_found' })
  }
}
