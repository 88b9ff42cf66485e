// `npm run server`: the Latchkey auth server alone (PGlite in ./data unless DATABASE_URL is set).
// Builds @latchkey/server first when its dist is missing or older than its sources.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const pkg = join(root, 'packages', 'server')
const cli = join(pkg, 'dist', 'cli.js')

function newest(path) {
  if (!existsSync(path)) return 0
  const st = statSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  let max = 0
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)))
  return max
}

const sources = Math.max(newest(join(pkg, 'src')), newest(join(pkg, 'package.json')), newest(join(pkg, 'tsconfig.json')), newest(join(pkg, 'tsconfig.build.json')))
if (!existsSync(cli) || newest(join(pkg, 'dist')) < sources) {
  process.stderr.write('building @latchkey/server…\n')
  execFileSync('npm', ['run', 'build', '--silent', '-w', '@latchkey/server'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
}

const child = spawn(process.execPath, [cli, ...process.argv.slice(2)], { stdio: 'inherit' })
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
