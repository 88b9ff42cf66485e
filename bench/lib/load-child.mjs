// A load generator in its own process (`load` command: bench/lib/load.mjs's figures), so a heavy
// load (hundreds of connections) does not slow the scenario process that times other requests.
import { childMain } from './children.mjs'
import { load } from './load.mjs'

childMain(async () => ({
  info: { pid: process.pid },
  commands: { load: (options) => load(options) },
  close: () => {},
}))
