// Rebuilds what `npm start` serves only when its output is missing or older than its sources.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

export const root = new URL('..', import.meta.url).pathname

/** Newest modification time under the given paths (files or folders), skipping build output. */
export function newest(paths) {
  let max = 0
  const visit = (p) => {
    if (!existsSync(p)) return
    const st = statSync(p)
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) {
        if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue
        visit(join(p, name))
      }
    } else if (st.mtimeMs > max) max = st.mtimeMs
  }
  for (const p of paths) visit(p)
  return max
}

const isStale = (output, sources) => !existsSync(output) || newest([output]) < newest(sources)

function run(cmd, args, cwd = root) {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, CI: '1' } })
}

/** Builds the named workspace packages whose dist is missing or stale. */
export function buildPackages(names) {
  const stale = names.filter((name) => {
    const dir = join(root, 'packages', name)
    return isStale(join(dir, 'dist'), [join(dir, 'src'), join(dir, 'package.json'), join(dir, 'tsconfig.json'), join(dir, 'tsconfig.build.json')])
  })
  if (stale.length === 0) return
  process.stderr.write(`building ${stale.map((n) => `@latchkey/${n}`).join(', ')}\n`)
  for (const name of stale) run('npm', ['run', 'build', '--silent', '-w', `@latchkey/${name}`])
}

/** Exports the example app for the web (about 40 s cold) when its build is missing or stale. */
export function buildWebApp() {
  const app = join(root, 'apps', 'example')
  const sources = [join(app, 'app'), join(app, 'src'), join(app, 'app.json'), join(app, 'package.json'), join(root, 'packages', 'core', 'src'), join(root, 'packages', 'expo', 'src')]
  const out = join(app, 'dist')
  if (!isStale(join(out, 'index.html'), sources)) return out
  process.stderr.write('building the example web app (npx expo export --platform web)…\n')
  run('npx', ['expo', 'export', '--platform', 'web', '--output-dir', 'dist'], app)
  return out
}
