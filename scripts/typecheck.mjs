// Typechecks every workspace that has TypeScript sources (a package scaffolded without code yet
// has nothing to check, and tsc would fail on "no inputs").
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const hasTs = (dir) =>
  existsSync(dir) &&
  readdirSync(dir, { recursive: true }).some((f) => /\.tsx?$/.test(String(f)) && !String(f).includes('node_modules'))

let failed = false
for (const group of ['packages', 'apps']) {
  for (const name of readdirSync(join(root, group))) {
    const dir = join(root, group, name)
    const pkgFile = join(dir, 'package.json')
    if (!existsSync(pkgFile)) continue
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'))
    if (!pkg.scripts?.typecheck || !hasTs(join(dir, 'src'))) continue
    process.stderr.write(`typecheck ${pkg.name}\n`)
    try {
      execFileSync('npm', ['run', 'typecheck', '--silent', '-w', pkg.name], { cwd: root, stdio: 'inherit' })
    } catch {
      failed = true
    }
  }
}
// Tests that cross packages (the core client against the real server) have a config of their own.
process.stderr.write('typecheck integration/\n')
try {
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'integration', 'tsconfig.json')], { cwd: root, stdio: 'inherit' })
} catch {
  failed = true
}
process.exit(failed ? 1 : 0)
