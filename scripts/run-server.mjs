// Runs the built server CLI as a child, forwarding Ctrl-C / SIGTERM so it shuts down gracefully.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { root } from './build-if-stale.mjs'

export function runServer(args, env = {}) {
  const cli = join(root, 'packages', 'server', 'dist', 'cli.js')
  const child = spawn(process.execPath, [cli, ...args], { stdio: 'inherit', env: { ...process.env, ...env } })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
  return child
}
