// `npm start`: builds what is missing or stale (the packages, then the example app's web build),
// then serves the API and the app together on http://127.0.0.1:8787 (PORT to change) with
// embedded PGlite in ./data. Ctrl-C stops it cleanly; accounts and sessions survive a restart.
import { buildPackages, buildWebApp } from './build-if-stale.mjs'
import { runServer } from './run-server.mjs'

buildPackages(['core', 'expo', 'server'])
const staticDir = buildWebApp()
runServer(process.argv.slice(2), { LATCHKEY_STATIC_DIR: staticDir })
