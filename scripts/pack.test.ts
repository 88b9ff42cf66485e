// What `npm pack` would publish for each package: no tests or test support (beyond what an export
// needs), a LICENSE, the publishing metadata, and a README whose links work on npmjs.com.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

interface PackResult { entryCount: number; size: number; files: { path: string; size: number }[] }

// --ignore-scripts: no prepack build here (other tests may be building dist/ at the same time);
// export targets under dist/ are judged against the `files` rules and the sources instead.

const pack = (dir: string): PackResult => {
  const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  return (JSON.parse(out) as PackResult[])[0]!
}

type Exports = Record<string, string | Record<string, string>>

/** Test-support modules an exported entry imports (e.g. `@latchkey/core/testing` → fake-time): these ship. */
function exportedSupport(dir: string, exports: Exports): Set<string> {
  const allowed = new Set<string>()
  for (const target of Object.values(exports)) {
    const source = typeof target === 'object' ? target['@latchkey/source'] : undefined
    if (!source) continue
    const text = readFileSync(join(dir, source), 'utf8')
    for (const [, mod] of text.matchAll(/from '\.\/test-support\/([\w.-]+)\.js'/g)) {
      for (const f of [`src/test-support/${mod}.ts`, `dist/test-support/${mod}.js`, `dist/test-support/${mod}.d.ts`, `dist/test-support/${mod}.js.map`]) allowed.add(f)
    }
  }
  return allowed
}

/** Markdown link and image targets that are not absolute URLs or in-page anchors. */
const relativeLinks = (markdown: string): string[] =>
  [...markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!).filter((href) => !/^(https?:|mailto:|#)/.test(href))

/** A glob of package.json `files` as a RegExp (`**` any depth, `*` within one segment; a bare path also covers what is under it). */
const globRe = (glob: string) =>
  new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '(?:.*/)?').replace(/\*\*/g, '.*').replace(/\*/g, '[^/]*')}(?:/.*)?$`)

/** Whether npm's `files` rules (later `!` entries exclude) keep `path`. */
function keptByFiles(rules: string[], path: string): boolean {
  let kept = false
  for (const rule of rules) {
    if (rule.startsWith('!')) {
      if (globRe(rule.slice(1)).test(path)) kept = false
    } else if (globRe(rule).test(path)) kept = true
  }
  return kept
}

const packages = ['core', 'expo', 'server']

describe.each(packages)('npm pack of @latchkey/%s', (name) => {
  const dir = join(root, 'packages', name)
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    version: string; license: string; exports: Exports; files: string[]; scripts: Record<string, string>
    repository?: { url?: string; directory?: string }; engines?: { node?: string }; dependencies?: Record<string, string>
  }
  const result = pack(dir)
  const paths = result.files.map((f) => f.path)

  it('holds no test files and no test support beyond what its exports import', () => {
    expect(paths.filter((p) => /\.test\.[cm]?[jt]sx?(\.map)?$|\.test\.d\.ts$/.test(p))).toEqual([])
    const allowed = exportedSupport(dir, manifest.exports)
    expect(paths.filter((p) => /(^|\/)test-support\//.test(p) && !allowed.has(p))).toEqual([])
    // The package's sources ship for its source maps; they must still be there, tests aside.
    expect(paths).toContain('src/index.ts')
  })

  it('holds an MIT LICENSE and a README', () => {
    expect(paths).toContain('LICENSE')
    expect(paths).toContain('README.md')
    const license = readFileSync(join(dir, 'LICENSE'), 'utf8')
    expect(license).toMatch(/^MIT License/)
    expect(license).toContain('Copyright (c) 2026 Latchkey contributors')
    expect(manifest.license).toBe('MIT')
  })

  it("has a README whose links are absolute (relative ones break on npmjs.com)", () => {
    expect(relativeLinks(readFileSync(join(dir, 'README.md'), 'utf8'))).toEqual([])
  })

  it('names its repository and Node engine, builds before packing, and depends on Latchkey packages by a semver range', () => {
    expect(manifest.repository?.url).toBe('git+https://github.com/latchkey-dev/latchkey.git')
    expect(manifest.repository?.directory).toBe(`packages/${name}`)
    expect(manifest.engines?.node).toBe('>=20.19')
    expect(manifest.scripts.prepack).toMatch(/\bbuild\b/)
    for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
      if (!dep.startsWith('@latchkey/')) continue
      const sibling = JSON.parse(readFileSync(join(root, 'packages', dep.slice('@latchkey/'.length), 'package.json'), 'utf8')) as { version: string }
      expect(range, dep).toBe(`^${sibling.version}`)
    }
  })

  it('ships every file its exports point to: kept by its `files` rules, and built from a source that ships', () => {
    for (const target of Object.values(manifest.exports)) {
      const files = typeof target === 'string' ? [target] : Object.entries(target).filter(([k]) => k !== '@latchkey/source').map(([, v]) => v)
      for (const raw of files) {
        const f = raw.replace(/^\.\//, '')
        expect(keptByFiles(manifest.files, f), f).toBe(true)
        if (f.startsWith('dist/')) {
          const stem = f.slice('dist/'.length).replace(/\.d\.ts$|\.js$/, '')
          expect([`src/${stem}.ts`, `src/${stem}.tsx`].some((src) => paths.includes(src)), `${f}: no shipped source src/${stem}.ts(x)`).toBe(true)
        } else expect(paths, f).toContain(f)
      }
    }
  })
})
