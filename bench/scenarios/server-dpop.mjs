// server-dpop (issue 12): refresh grants and /me per second with DPoP-bound sessions (RFC 9449:
// a proof per request, checked and its jti recorded in the database) versus bearer sessions, in
// the same run on the same server: the ratios dpopOverBearer. Proofs are signed in the load
// generator (node:crypto, synchronously in autocannon's setupRequest), so its cost is part of the
// load, not of the server's figures; each proof has a fresh jti, as a client's would.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { load } from '../lib/load.mjs'
import { PASSWORD, startLatchkey } from '../lib/latchkey.mjs'
import { log, ratio } from '../lib/util.mjs'
import { loadRefreshes } from './server-refresh.mjs'

const TOKEN_RE = /"refresh_token":"([^"]+)"/
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url')

function dpopKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' })
  const jwk = { kty, crv, x, y }
  // RFC 7638: the required members in lexicographic order.
  const jkt = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url')
  const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })
  const proof = (htm, htu, extra = {}) => {
    const input = `${header}.${b64({ htm, htu, iat: Math.floor(Date.now() / 1000), jti: randomBytes(16).toString('base64url'), ...extra })}`
    return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
  }
  return { jkt, proof }
}

/** Refresh grants with a proof each, spending the pool's tokens as server-refresh does; the latest nonce is kept from the answers. */
async function loadDpopRefreshes({ url, tokens, key, nonce, duration, connections }) {
  const pool = tokens.slice()
  const state = { nonce, lost: 0, firstError: null }
  const htu = `${url}/oauth/token`
  const requests = [
    {
      method: 'POST',
      path: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      setupRequest(req) {
        req.body = `grant_type=refresh_token&refresh_token=${encodeURIComponent(pool.shift())}`
        req.headers = { ...req.headers, dpop: key.proof('POST', htu, { nonce: state.nonce }) }
        return req
      },
      onResponse(status, body, _context, headers) {
        if (headers?.['dpop-nonce']) state.nonce = headers['dpop-nonce']
        const m = status === 200 ? TOKEN_RE.exec(body) : null
        if (m) pool.push(m[1])
        else {
          state.lost++
          if (state.firstError === null) state.firstError = `${status} ${String(body).slice(0, 120)}`
        }
      },
    },
  ]
  await load({ url, connections, requests, duration: 2 })
  const r = await load({ url, connections, requests, duration })
  if (state.lost) log(`dpop refresh: ${state.lost} requests did not return a new token (first: ${state.firstError})`)
  return { grantsPerSec: r.perSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, non2xx: r.non2xx, errors: r.errors }
}

async function loadMe({ url, accessToken, key, duration, connections }) {
  const ath = key ? createHash('sha256').update(accessToken).digest('base64url') : undefined
  const requests = [
    {
      method: 'GET',
      path: '/me',
      headers: { authorization: `${key ? 'DPoP' : 'Bearer'} ${accessToken}` },
      ...(key ? { setupRequest: (req) => ({ ...req, headers: { ...req.headers, dpop: key.proof('GET', `${url}/me`, { ath }) } }) } : {}),
    },
  ]
  await load({ url, connections, requests, duration: 1 })
  const r = await load({ url, connections, requests, duration })
  if (r.non2xx) throw new Error(`/me (${key ? 'DPoP' : 'Bearer'}): ${r.non2xx} non-2xx answers ${JSON.stringify(r.statusCodes)}`)
  return { perSec: r.perSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms }
}

export async function run({ quick }) {
  const duration = quick ? 3 : 8
  const connections = 32
  const sessions = quick ? 500 : 5000
  const engines = {}
  for (const engine of ['pglite', 'postgres']) {
    const server = await startLatchkey({ engine, tag: 'dpop' })
    try {
      const url = server.urls[0]
      const key = dpopKey()
      const bearer = await server.first.call('seed', { count: sessions, password: PASSWORD, emailPrefix: 'bearer' })
      const bound = await server.first.call('seed', { count: sessions, password: PASSWORD, emailPrefix: 'bound', dpopJkt: key.jkt })
      // The nonce dance once (RFC 9449 §8); the first bound token's first pair serves /me.
      const first = await fetch(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: key.proof('POST', `${url}/oauth/token`) }, body: `grant_type=refresh_token&refresh_token=${bound.tokens[0]}` })
      const nonce = first.headers.get('dpop-nonce')
      const boundPairRes = await fetch(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: key.proof('POST', `${url}/oauth/token`, { nonce }) }, body: `grant_type=refresh_token&refresh_token=${bound.tokens[0]}` })
      if (boundPairRes.status !== 200) throw new Error(`bound refresh answered ${boundPairRes.status}: ${await boundPairRes.text()}`)
      const boundPair = await boundPairRes.json()
      const bearerPairRes = await fetch(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${bearer.tokens[0]}` })
      const bearerPair = await bearerPairRes.json()
      const boundTokens = [boundPair.refresh_token, ...bound.tokens.slice(1)]
      const bearerTokens = [bearerPair.refresh_token, ...bearer.tokens.slice(1)]

      const rb = await loadRefreshes({ urls: [url], tokens: bearerTokens, duration, connections, label: `${engine} bearer` })
      const rd = await loadDpopRefreshes({ url, tokens: boundTokens, key, nonce: boundPairRes.headers.get('dpop-nonce'), duration, connections })
      const mb = await loadMe({ url, accessToken: bearerPair.access_token, duration, connections })
      const md = await loadMe({ url, accessToken: boundPair.access_token, key, duration, connections })
      engines[engine] = {
        refreshBearer: rb,
        refreshDpop: rd,
        refreshDpopOverBearer: ratio(rd.grantsPerSec, rb.grantsPerSec),
        meBearer: mb,
        meDpop: md,
        meDpopOverBearer: ratio(md.perSec, mb.perSec),
      }
      log(`${engine}: refresh bearer ${rb.grantsPerSec}/s, DPoP ${rd.grantsPerSec}/s; /me bearer ${mb.perSec}/s, DPoP ${md.perSec}/s`)
    } finally {
      await server.close()
    }
  }
  return {
    params: {
      durationS: duration,
      connections,
      sessionsPerMode: sessions,
      proofs: 'ES256, signed in the load generator (node:crypto), a fresh jti per request; server nonces on (the default) for refreshes',
      loadGenerator: 'autocannon in the scenario process; server in another process',
    },
    ...engines,
    refreshDpopOverBearer: engines.pglite.refreshDpopOverBearer,
    meDpopOverBearer: engines.pglite.meDpopOverBearer,
  }
}
