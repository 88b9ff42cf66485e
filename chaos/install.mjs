// An app install on a device: persistent storage that survives restarts, a device clock whose wall
// part can jump, connectivity and foreground that the scenario drives, and the app process
// (an *incarnation*: one session client) that can be killed and reopened.
import { webcrypto } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { INSTALL_HEADER } from './proxy.mjs'

const core = await import(fileURLToPath(new URL('../packages/core/dist/index.js', import.meta.url)))
const { createSessionClient, oauth2Refresh, oauth2Revoke, createForegroundManager, createOnlineManager, inProcessLock, silentLogger } = core

// Must pass the server's password policy: no context word (the email's local part, `chaos-…`).
export const PASSWORD = 'correct horse battery staple 42'
const never = () => new Promise(() => {})
const DPOP_KEY = 'dpop-key'
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Session id of a Latchkey refresh token `<sessionId>.<counter>.<mac>`. */
export const sessionIdOf = (refreshToken) => (typeof refreshToken === 'string' ? refreshToken.split('.')[0] : null)

/** A P-256 DPoP key (RFC 9449) on WebCrypto, its private half non-extractable, as a device keeps it. */
async function deviceKey() {
  const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
  const { kty, crv, x, y } = await webcrypto.subtle.exportKey('jwk', pair.publicKey)
  return {
    alg: 'ES256',
    publicJwk: { kty, crv, x, y },
    sign: async (input) => new Uint8Array(await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, input)),
  }
}

/**
 * @param {{ id: string, index: number, group: string, proxyUrl: string, rng: ReturnType<import('./rng.mjs').createRng>,
 *   direct: (group: string) => Promise<string>, onSignedOut: (install: object, payload: object) => void, dpop?: boolean }} o
 */
export function createInstall(o) {
  /** Survives app restarts; each call is atomic. */
  const disk = new Map()
  const device = { online: true, foreground: true, wallOffset: 0 }
  /** @type {{ kind: 'closed' | 'offline' | 'background', from: number, to: number | null }[]} */
  const intervals = []
  const events = []
  const calls = []
  const sessions = new Set()
  const signOuts = []
  const xff = `10.${77 + Math.floor(o.index / 250)}.${o.index % 250}.1`
  let inc = null
  let incarnations = 0
  let signedIn = false
  let currentSession = null
  let stopped = false

  const log = (type, detail = {}) => {
    events.push({ at: Date.now(), type, ...detail })
    if (events.length > 400) events.splice(0, events.length - 300)
  }
  const openInterval = (kind) => intervals.push({ kind, from: Date.now(), to: null })
  const closeInterval = (kind) => {
    const it = intervals.findLast((i) => i.kind === kind && i.to === null)
    if (it) it.to = Date.now()
  }

  const clock = { now: () => Date.now() + device.wallOffset, monotonic: () => performance.now() }

  /** The app process: its own fetch, storage handle and client. */
  function spawnIncarnation() {
    const me = { n: ++incarnations, alive: true, inflight: new Set(), client: null, fg: null, online: null }
    const abortAll = (reason) => {
      for (const c of me.inflight) c.abort(reason)
    }
    me.abortAll = abortAll
    /** @type {typeof fetch} */
    const appFetch = async (input, init) => {
      if (!me.alive || !device.online) throw new TypeError('fetch failed')
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
      headers.set(INSTALL_HEADER, o.id)
      // Killing the process aborts its requests; the caller's signal aborts them too. The signal
      // goes to fetch in `init` (a Request built with a signal loses it to GC on Node).
      const controller = new AbortController()
      const callerSignal = init?.signal ?? (input instanceof Request ? input.signal : null)
      if (callerSignal?.aborted) controller.abort(callerSignal.reason)
      else callerSignal?.addEventListener('abort', () => controller.abort(callerSignal.reason), { once: true })
      // Kept until the process dies: a body still being read is cut by the kill too.
      me.inflight.add(controller)
      return fetch(input, { ...init, headers, signal: controller.signal })
    }
    const storage = {
      getItem: async (k) => (disk.has(k) ? disk.get(k) : null),
      setItem: async (k, v) => {
        if (!me.alive) return never() // a dead process writes nothing
        disk.set(k, v)
      },
      removeItem: async (k) => {
        if (!me.alive) return never()
        disk.delete(k)
      },
    }
    // `--dpop`: the session's device key is on the disk too (the secure store of a real device).
    const dpop = o.dpop
      ? {
          generate: deviceKey,
          load: async () => disk.get(DPOP_KEY) ?? null,
          save: async (key) => {
            if (!me.alive) return never()
            disk.set(DPOP_KEY, key)
          },
          delete: async () => {
            if (!me.alive) return never()
            disk.delete(DPOP_KEY)
          },
        }
      : undefined
    me.fg = createForegroundManager({ web: false })
    me.online = createOnlineManager({ web: false })
    me.fg.setForeground(device.foreground)
    me.online.setOnline(device.online)
    const client = createSessionClient({
      refresh: oauth2Refresh({ tokenEndpoint: `${o.proxyUrl}/oauth/token`, fetch: appFetch }),
      revoke: oauth2Revoke({ revocationEndpoint: `${o.proxyUrl}/oauth/revoke`, fetch: appFetch }),
      storage,
      clock,
      fetch: appFetch,
      lock: inProcessLock(),
      logger: silentLogger,
      foreground: me.fg,
      online: me.online,
      random: () => o.rng.next(),
      ...(dpop ? { dpop } : {}),
    })
    me.client = client
    client.on('refreshed', (p) => me.alive && log('refreshed', { inc: me.n, source: p.source }))
    client.on('refreshFailed', (p) => me.alive && log('refreshFailed', { inc: me.n, code: p.error?.code, willRetry: p.willRetry }))
    client.on('signedOut', (p) => {
      if (!me.alive) return
      log('signedOut', { inc: me.n, reason: p.reason, code: p.error?.code })
      signedIn = false
      if (p.reason !== 'user') {
        const rec = { at: Date.now(), reason: p.reason, code: p.error?.code ?? null, sessionId: currentSession, inc: me.n }
        signOuts.push(rec)
        o.onSignedOut(install, rec)
      }
    })
    return me
  }

  /**
   * Sign-up and sign-in, straight to a live server. With `--dpop` they go through the proxy
   * instead (a proof's `htu` must be the issuer's URI, RFC 9449 §4.3; the proxy injects no fault
   * on them) by the app's `signInFetch`, which proves the new session's key.
   */
  async function directPost(path, body) {
    for (let attempt = 0; attempt < 60; attempt++) {
      const base = o.dpop ? o.proxyUrl : await o.direct(o.group)
      const post = o.dpop ? (url, init) => inc.client.signInFetch(url, init) : fetch
      try {
        const res = await post(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': xff },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        })
        const json = await res.json().catch(() => null)
        if (res.ok) return json
        if (res.status < 500 && res.status !== 429) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(json)}`)
      } catch (e) {
        if (e.message?.includes('answered')) throw e
      }
      await sleep(500) // a server being restarted by the harness
    }
    throw new Error(`${path}: no server answered`)
  }

  const install = {
    id: o.id,
    group: o.group,
    device,
    intervals,
    events,
    calls,
    sessions,
    signOuts,
    get incarnation() {
      return inc
    },
    get signedIn() {
      return signedIn
    },
    /** Whether a kill-mid-refresh is armed: the proxy kills the app when a refresh is forwarded. */
    armedKill: null,
    /** The current fault plan the proxy applies to this install's requests. */
    plan: null,
    log,

    async open() {
      inc = spawnIncarnation()
      closeInterval('closed')
      log('opened', { inc: inc.n })
      await inc.client.start()
      const st = inc.client.getState()
      signedIn = st.status !== 'signedOut'
    },
    kill() {
      if (!inc || !inc.alive) return
      inc.alive = false
      inc.client.stop()
      inc.abortAll(new Error('app killed'))
      for (const c of calls) if (c.inc === inc.n && c.settledAt === null) c.abandonedAt = Date.now()
      openInterval('closed')
      log('killed', { inc: inc.n })
    },
    get alive() {
      return inc?.alive ?? false
    },
    setOnline(online) {
      if (device.online === online) return
      device.online = online
      if (online) closeInterval('offline')
      else openInterval('offline')
      if (!online) inc?.abortAll(new TypeError('network lost'))
      if (inc?.alive) inc.online.setOnline(online)
      log(online ? 'online' : 'offline')
    },
    setForeground(fg) {
      if (device.foreground === fg) return
      device.foreground = fg
      if (fg) closeInterval('background')
      else openInterval('background')
      if (inc?.alive) inc.fg.setForeground(fg)
      log(fg ? 'foreground' : 'background')
    },
    jumpClock(ms) {
      device.wallOffset = ms
      log('clock', { offsetH: Math.round(ms / 3_600_000) })
    },
    async signUp() {
      const body = await directPost('/auth/sign-up', { email: `chaos-${o.id}@example.com`, password: PASSWORD })
      await install.adopt(body)
    },
    async signInAgain() {
      const body = await directPost('/auth/sign-in', { email: `chaos-${o.id}@example.com`, password: PASSWORD })
      await install.adopt(body)
    },
    async adopt(tokenResponse) {
      currentSession = sessionIdOf(tokenResponse.refresh_token)
      sessions.add(currentSession)
      await inc.client.signIn(tokenResponse)
      signedIn = true
      log('signedIn', { session: currentSession })
    },
    async userSignOut() {
      log('userSignOut')
      await inc.client.signOut()
      signedIn = false
    },
    /** One tracked app call. */
    async call(kind, fn) {
      const c = { install: o.id, inc: inc.n, kind, at: Date.now(), settledAt: null, outcome: null, abandonedAt: null }
      calls.push(c)
      try {
        c.outcome = await fn(inc.client)
      } catch (e) {
        c.outcome = e?.code ?? e?.name ?? 'error'
      }
      c.settledAt = Date.now()
      return c
    },
    /**
     * The app's activity while the run lasts: /me with a deadline, body read included, and now and
     * then getAccessToken(). Nothing while closed or in the background.
     */
    async activity() {
      while (!stopped) {
        if (!inc?.alive || !device.foreground || !signedIn) {
          await sleep(100)
          continue
        }
        if (o.rng.chance(0.15)) void install.call('getAccessToken', async (client) => ((await client.getAccessToken()) ? 'token' : 'null'))
        const pending = install.call('me', async (client) => {
          const res = await client.fetch(`${o.proxyUrl}/me`, { signal: AbortSignal.timeout(15_000) })
          await res.text()
          return res.status
        })
        // A call stuck past 30 s is recorded as such; the app's loop goes on.
        await Promise.race([pending, sleep(31_000)])
        await sleep(o.rng.range(200, 700))
      }
    },
    stopActivity() {
      stopped = true
    },
    get currentSession() {
      return currentSession
    },
  }
  return install
}
