import { describe, expect, test } from 'vitest'
import { ConfigError, loadConfig } from '../config.js'
import { createApp, silentLogger } from '../index.js'

// LATCHKEY_OIDC_PROVIDERS (several generic OpenID providers; npm start's development stand-ins) and
// GET /auth/providers, which the example app reads to show its sign-in buttons.
const providers = (issuer: string) =>
  JSON.stringify([
    { name: 'google', issuer: `${issuer}:9001`, clientIds: ['latchkey-example-web'], nonce: 'raw' },
    { name: 'apple', issuer: `${issuer}:9002`, clientIds: ['latchkey-example-web'], nonce: 'sha256' },
  ])

describe('LATCHKEY_OIDC_PROVIDERS', () => {
  test('several generic providers from JSON; plain-http loopback issuers only outside production', () => {
    const config = loadConfig({ LATCHKEY_OIDC_PROVIDERS: providers('http://127.0.0.1') })
    expect(config.identityProviders.map((p) => [p.name, p.issuer, p.nonce])).toEqual([
      ['google', 'http://127.0.0.1:9001', 'raw'],
      ['apple', 'http://127.0.0.1:9002', 'sha256'],
    ])
    // A development stand-in is never trusted in production.
    expect(() => loadConfig({ NODE_ENV: 'production', LATCHKEY_SECRET: 'x'.repeat(40), LATCHKEY_OIDC_PROVIDERS: providers('http://127.0.0.1') })).toThrow(ConfigError)
    expect(loadConfig({ NODE_ENV: 'production', LATCHKEY_SECRET: 'x'.repeat(40), LATCHKEY_OIDC_PROVIDERS: providers('https://idp.example') }).identityProviders).toHaveLength(2)
  })

  test('bad JSON or entries are a ConfigError naming the variable', () => {
    for (const v of ['{', '{}', '[{"name":"x"}]', '[{"name":"x","issuer":"https://a.example","clientIds":[1]}]', '[{"name":"x","issuer":"https://a.example","clientIds":["c"],"nonce":"plain"}]']) {
      expect(() => loadConfig({ LATCHKEY_OIDC_PROVIDERS: v })).toThrow(/LATCHKEY_OIDC/)
    }
  })

  test('GET /auth/providers lists name, issuer, client ids and nonce mode', async () => {
    const config = loadConfig({ LATCHKEY_OIDC_PROVIDERS: providers('http://127.0.0.1') })
    const built = await createApp({ issuer: 'http://127.0.0.1:8787', dataDir: 'memory://', pruneInterval: 0, logger: silentLogger, identityProviders: config.identityProviders })
    try {
      const res = await built.app.request('/auth/providers')
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({
        providers: [
          { name: 'google', issuer: 'http://127.0.0.1:9001', client_ids: ['latchkey-example-web'], nonce: 'raw' },
          { name: 'apple', issuer: 'http://127.0.0.1:9002', client_ids: ['latchkey-example-web'], nonce: 'sha256' },
        ],
      })
    } finally {
      await built.close()
    }
  })
})
