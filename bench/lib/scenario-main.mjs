// Runs one scenario in this process and prints its single result line to stdout.
import { log } from './util.mjs'

const [name, ...flags] = process.argv.slice(2)
const quick = flags.includes('--quick')
const valueOf = (flag) => (flags.includes(flag) ? flags[flags.indexOf(flag) + 1] : undefined)
// --before DIR: another tree's built packages/server to compare with this tree's (scenarios that support it).
const before = valueOf('--before')
const rounds = valueOf('--rounds') === undefined ? undefined : Number(valueOf('--rounds'))

const mod = await import(new URL(`../scenarios/${name}.mjs`, import.meta.url))
try {
  const figures = await mod.run({ quick, ...(before ? { before, rounds } : {}) })
  process.stdout.write(`${JSON.stringify({ bench: name, quick, ...figures })}\n`)
  // Hung client promises (counted, never awaited) and pooled sockets may keep the loop alive.
  process.exit(0)
} catch (e) {
  log(`${name} failed: ${e?.stack ?? e}`)
  process.exit(1)
}
