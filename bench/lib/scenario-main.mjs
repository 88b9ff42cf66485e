// Runs one scenario in this process and prints its single result line to stdout.
import { log } from './util.mjs'

const [name, ...flags] = process.argv.slice(2)
const quick = flags.includes('--quick')

const mod = await import(new URL(`../scenarios/${name}.mjs`, import.meta.url))
try {
  const figures = await mod.run({ quick })
  process.stdout.write(`${JSON.stringify({ bench: name, quick, ...figures })}\n`)
  // Hung client promises (counted, never awaited) and pooled sockets may keep the loop alive.
  process.exit(0)
} catch (e) {
  log(`${name} failed: ${e?.stack ?? e}`)
  process.exit(1)
}
