// `npm run server`: the Latchkey auth server alone (PGlite in ./data unless DATABASE_URL is set).
// Builds @latchkey/server first when its dist is missing or older than its sources.
import { buildPackages } from './build-if-stale.mjs'
import { runServer } from './run-server.mjs'

buildPackages(['server'])
runServer(process.argv.slice(2))
