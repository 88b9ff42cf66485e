// peer-oidc-provider: node-oidc-provider's refresh_token grant with rotation (rotateRefreshToken:
// true) beside Latchkey's, same machine, same load (server-refresh's: 32 connections, each request
// spends a session's current refresh token and puts the rotated one back, RFC 6749 §6), one
// server process each, in alternating order per round (medians). oidc-provider keeps its tokens
// in its own in-memory adapter (its default and the only one it ships: no database round trip at
// all, no compare-and-set; see bench/lib/oidc-provider-child.mjs), and on a minimal PostgreSQL
// adapter written for the bench; Latchkey is measured on PostgreSQL and on PGlite. Both answer with an ES256 JWT access token and a new refresh token.
import { startChild } from '../lib/children.mjs'
import { PASSWORD, startLatchkey } from '../lib/latchkey.mjs'
import { createDatabase } from '../lib/pg.mjs'
import { log, median, ratio } from '../lib/util.mjs'
import { loadRefreshes } from './server-refresh.mjs'

async function oidcProvider({ sessions, duration, connections }, { postgres = false } = {}) {
  const db = postgres ? await createDatabase('peer_oidc_provider') : null
  const server = await startChild('oidc-provider-child.mjs', db ? { databaseUrl: db.url } : {})
  try {
    const { tokens } = await server.call('seed', { count: sessions })
    return await loadRefreshes({ urls: [server.info.url], tokens, duration, connections, label: `oidc-provider${db ? ' pg' : ''}`, path: '/token', extraBody: `&client_id=${server.info.clientId}` })
  } finally {
    await server.stop()
    await db?.drop()
  }
}

async function latchkey(engine, { sessions, duration, connections }) {
  const server = await startLatchkey({ engine, tag: 'peer_oidc' })
  try {
    const { tokens } = await server.first.call('seed', { count: sessions, password: PASSWORD })
    return await loadRefreshes({ urls: server.urls, tokens, duration, connections, label: `latchkey ${engine}` })
  } finally {
    await server.close()
  }
}

export async function run({ quick, rounds: givenRounds }) {
  const sessions = quick ? 1_000 : 10_000
  const duration = quick ? 3 : 10
  const rounds = givenRounds ?? (quick ? 1 : 3)
  const connections = 32
  const sides = {
    oidcProvider: (o) => oidcProvider(o),
    oidcProviderPostgres: (o) => oidcProvider(o, { postgres: true }),
    latchkeyPostgres: (o) => latchkey('postgres', o),
    latchkeyPglite: (o) => latchkey('pglite', o),
  }
  const figures = Object.fromEntries(Object.keys(sides).map((k) => [k, []]))
  for (let i = 0; i < rounds; i++) {
    const names = Object.keys(sides)
    const order = i % 2 === 0 ? names : names.reverse()
    for (const name of order) {
      const r = await sides[name]({ sessions, duration, connections })
      if (r.non2xx || r.errors) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors`)
      figures[name].push(r)
      log(`round ${i + 1} ${name}: ${r.grantsPerSec} grants/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`)
    }
  }
  const summary = Object.fromEntries(
    Object.entries(figures).map(([k, rs]) => [k, { grantsPerSec: median(rs.map((r) => r.grantsPerSec)), p50Ms: median(rs.map((r) => r.p50Ms)), p99Ms: median(rs.map((r) => r.p99Ms)), rounds: rs.map((r) => r.grantsPerSec) }]),
  )
  return {
    params: {
      sessions,
      connections,
      durationS: duration,
      rounds,
      oidcProvider: 'oidc-provider (npm), rotateRefreshToken: true, its in-memory adapter (1,000,000-entry store), one public client, ES256 JWT access tokens for one resource, no ID token; grants and refresh tokens seeded through its models',
      oidcProviderPostgres: 'the same provider on the bench\'s minimal PostgreSQL adapter (bench/lib/oidc-provider-pg-adapter.mjs, pg Pool of 10; 4 statements per rotating refresh)',
      latchkey: 'one server process, rate limits off, sessions seeded into the tables (as server-refresh)',
    },
    ...summary,
    latchkeyPostgresOverOidcProvider: ratio(summary.latchkeyPostgres.grantsPerSec, summary.oidcProvider.grantsPerSec),
    latchkeyPgliteOverOidcProvider: ratio(summary.latchkeyPglite.grantsPerSec, summary.oidcProvider.grantsPerSec),
    latchkeyPostgresOverOidcProviderPostgres: ratio(summary.latchkeyPostgres.grantsPerSec, summary.oidcProviderPostgres.grantsPerSec),
  }
}
