// peer-better-auth: Better Auth (email and password, default settings) versus Latchkey on the same
// machine and the same database engine (PostgreSQL, a pg Pool of 10 each, one server process each):
// sign-ins per second, and session checks per second (getSession with the session cookie versus
// /me with the bearer token). Each side's password hashing is stated beside the figures: sign-in
// throughput is mostly the hash, and the two hashes differ.
import { randomBytes, scrypt } from 'node:crypto'
import { hash, verify } from '@node-rs/argon2'
import { startChild } from '../lib/children.mjs'
import { betterAuthHashSettings, latchkeyHashSettings } from '../lib/hash-settings.mjs'
import { load } from '../lib/load.mjs'
import { PASSWORD, signUp, startLatchkey } from '../lib/latchkey.mjs'
import { createDatabase } from '../lib/pg.mjs'
import { log, rate, ratio, sleep } from '../lib/util.mjs'

// Sign-in is CPU-bound (the hash), so it is measured at a concurrency near the machine's best
// (SIGN_IN_CONNECTIONS) and under a burst of `connections`; session checks at `connections`.
const SIGN_IN_CONNECTIONS = 4

async function measureSide(signIn, check, { duration, connections }) {
  // Session checks first: sign-ins still in flight when a sign-in load stops would slow them.
  await load({ ...check, duration: 1 })
  const g = await load({ ...check, duration })
  await load({ ...signIn, connections: SIGN_IN_CONNECTIONS, duration: 1 })
  await sleep(1000)
  const s = await load({ ...signIn, connections: SIGN_IN_CONNECTIONS, duration })
  await sleep(1000)
  const burst = await load({ ...signIn, connections, duration })
  if (s.non2xx || burst.non2xx || g.non2xx) {
    throw new Error(`non-2xx: sign-in ${JSON.stringify(s.statusCodes)} / ${JSON.stringify(burst.statusCodes)}, check ${JSON.stringify(g.statusCodes)}`)
  }
  return { s, burst, g }
}

async function betterAuthSide({ duration, connections }) {
  const db = await createDatabase('better_auth')
  const server = await startChild('better-auth-child.mjs', { databaseUrl: db.url }, { env: { BETTER_AUTH_TELEMETRY: '0' } })
  try {
    const url = server.info.url
    const email = 'peer@bench.example'
    // Better Auth checks Origin on POSTs (CSRF); a browser sends it, so the load does too.
    const headers = { 'content-type': 'application/json', origin: url }
    const up = await fetch(`${url}/api/auth/sign-up/email`, { method: 'POST', headers, body: JSON.stringify({ email, password: PASSWORD, name: 'Peer' }) })
    if (!up.ok) throw new Error(`better-auth sign-up answered ${up.status}: ${await up.text()}`)
    const cookie = up.headers.get('set-cookie').split(';')[0]
    const check = await fetch(`${url}/api/auth/get-session`, { headers: { cookie } })
    const session = await check.json()
    if (!session?.session?.userId) throw new Error(`better-auth get-session did not return the session: ${JSON.stringify(session)}`)

    const signIn = { url: `${url}/api/auth/sign-in/email`, method: 'POST', headers, body: JSON.stringify({ email, password: PASSWORD }) }
    const getSession = { url: `${url}/api/auth/get-session`, connections, headers: { cookie } }
    return await measureSide(signIn, getSession, { duration, connections })
  } finally {
    await server.stop()
    await db.drop()
  }
}

async function latchkeySide({ duration, connections }) {
  const server = await startLatchkey({ engine: 'postgres', tag: 'peer_latchkey' })
  try {
    const url = server.urls[0]
    const email = 'peer@bench.example'
    const { access_token } = await signUp(url, email)
    const signIn = { url: `${url}/auth/sign-in`, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) }
    const me = { url: `${url}/me`, connections, headers: { authorization: `Bearer ${access_token}` } }
    return await measureSide(signIn, me, { duration, connections })
  } finally {
    await server.close()
  }
}

/** Bare hash rates with each side's settings, at the sign-in concurrency, in this process. */
async function bareHashRates(baHash, lkHash, seconds) {
  const salt = randomBytes(16)
  const scryptOnce = () =>
    new Promise((resolve, reject) =>
      scrypt(PASSWORD, salt, baHash.dkLen, { N: baHash.N, r: baHash.r, p: baHash.p, maxmem: 256 * baHash.N * baHash.r }, (err, key) => (err ? reject(err) : resolve(key))),
    )
  const stored = await hash(PASSWORD, lkHash.options)
  await rate(scryptOnce, SIGN_IN_CONNECTIONS, 1) // warm-up
  const scryptPerSec = await rate(scryptOnce, SIGN_IN_CONNECTIONS, seconds)
  await rate(() => verify(stored, PASSWORD), SIGN_IN_CONNECTIONS, 1)
  const argon2idPerSec = await rate(() => verify(stored, PASSWORD), SIGN_IN_CONNECTIONS, seconds)
  return { scryptPerSec, argon2idPerSec }
}

export async function run({ quick }) {
  const duration = quick ? 3 : 10
  const connections = 32
  const ba = await betterAuthSide({ duration, connections })
  log(`better-auth: sign-in ${ba.s.perSec}/s (burst ${ba.burst.perSec}/s), get-session ${ba.g.perSec}/s`)
  const lk = await latchkeySide({ duration, connections })
  log(`latchkey: sign-in ${lk.s.perSec}/s (burst ${lk.burst.perSec}/s), /me ${lk.g.perSec}/s`)
  const baHash = betterAuthHashSettings()
  const lkHash = await latchkeyHashSettings()
  const bare = await bareHashRates(baHash, lkHash, duration)
  log(`bare hashes: scrypt ${bare.scryptPerSec}/s, argon2id ${bare.argon2idPerSec}/s`)
  return {
    params: {
      durationS: duration,
      connections,
      signInConnections: `${SIGN_IN_CONNECTIONS} (signInPerSec) and ${connections} (signInBurstPerSec)`,
      database: 'PostgreSQL, one throwaway database per side, pg Pool of 10 per server process',
      betterAuthConfig: 'betterAuth({ database: pg.Pool, emailAndPassword: { enabled: true } }); rate limit off (its default outside production; Latchkey also runs with rateLimit: false); cookie cache off (default)',
      sessionCheck: 'Better Auth GET /api/auth/get-session with the session cookie (a database read); Latchkey GET /me with the bearer JWT (signature + one joined session and user read)',
    },
    betterAuth: {
      signInPerSec: ba.s.perSec,
      signInP99Ms: ba.s.p99Ms,
      signInBurstPerSec: ba.burst.perSec,
      signInBurstP99Ms: ba.burst.p99Ms,
      getSessionPerSec: ba.g.perSec,
      getSessionP99Ms: ba.g.p99Ms,
      bareScryptPerSec: bare.scryptPerSec,
      signInOverOwnHash: ratio(ba.s.perSec, bare.scryptPerSec),
      passwordHash: `scrypt N=${baHash.N} r=${baHash.r} p=${baHash.p} dkLen=${baHash.dkLen} (${baHash.memoryKiB / 1024} MiB per hash; Better Auth's default; node:crypto on the libuv thread pool)`,
    },
    latchkey: {
      signInPerSec: lk.s.perSec,
      signInP99Ms: lk.s.p99Ms,
      signInBurstPerSec: lk.burst.perSec,
      signInBurstP99Ms: lk.burst.p99Ms,
      mePerSec: lk.g.perSec,
      meP99Ms: lk.g.p99Ms,
      bareArgon2idPerSec: bare.argon2idPerSec,
      signInOverOwnHash: ratio(lk.s.perSec, bare.argon2idPerSec),
      passwordHash: `${lkHash.algorithm} m=${lkHash.memoryKiB} KiB t=${lkHash.iterations} p=${lkHash.parallelism} (${Math.round(lkHash.memoryKiB / 1024)} MiB per hash; OWASP's first Argon2id setting; @node-rs/argon2 on the libuv thread pool)`,
    },
    signInLatchkeyOverBetterAuth: ratio(lk.s.perSec, ba.s.perSec),
    signInBurstLatchkeyOverBetterAuth: ratio(lk.burst.perSec, ba.burst.perSec),
    bareHashArgon2idOverScrypt: ratio(bare.argon2idPerSec, bare.scryptPerSec),
    sessionCheckLatchkeyOverBetterAuth: ratio(lk.g.perSec, ba.g.perSec),
  }
}
