// `npm start`: builds what is missing or stale (the packages, then the example app's web build),
// then serves the API and the app together on http://127.0.0.1:8787 (PORT to change) with
// embedded PGlite in ./data. Ctrl-C stops it cleanly; accounts and sessions survive a restart.
// Out of production, and unless identity providers are configured, it also runs two development
// stand-ins for Sign in with Apple and Google (scripts/dev-idp.mjs) and tells the server to trust
// them, so the sign-in screen's buttons work with nothing to set up (LATCHKEY_DEV_IDP=off: none).
import { buildPackages, buildWebApp } from './build-if-stale.mjs'
import { DEV_IDP_CLIENT, DEV_IDP_NATIVE_CLIENT, startDevIdp } from './dev-idp.mjs'
import { runServer } from './run-server.mjs'

buildPackages(['core', 'expo', 'server'])
const staticDir = buildWebApp()
const env = { LATCHKEY_STATIC_DIR: staticDir }

const configured = ['LATCHKEY_OIDC_PROVIDERS', 'LATCHKEY_OIDC_ISSUER', 'LATCHKEY_GOOGLE_CLIENT_IDS', 'LATCHKEY_APPLE_CLIENT_IDS'].some((n) => process.env[n])
if (process.env.NODE_ENV !== 'production' && process.env.LATCHKEY_DEV_IDP !== 'off' && !configured) {
  const port = process.env.PORT ?? '8787'
  const appOrigins = [`http://127.0.0.1:${port}`, `http://localhost:${port}`]
  const [google, apple] = await Promise.all([startDevIdp({ port: 0, appOrigins }), startDevIdp({ port: 0, appOrigins })])
  env.LATCHKEY_OIDC_PROVIDERS = JSON.stringify([
    { name: 'google', issuer: google.issuer, clientIds: [DEV_IDP_CLIENT, DEV_IDP_NATIVE_CLIENT], nonce: 'raw' },
    // Apple puts the SHA-256 (hex) of the app's nonce in its ID tokens; the stand-in is asked for that.
    { name: 'apple', issuer: apple.issuer, clientIds: [DEV_IDP_CLIENT, DEV_IDP_NATIVE_CLIENT], nonce: 'sha256' },
  ])
  console.log(`Development sign-in stand-ins (any login name signs in): Google ${google.issuer}, Apple ${apple.issuer}`)
}
runServer(process.argv.slice(2), env)
