import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const pkg = fileURLToPath(new URL('..', import.meta.url))
const out = mkdtempSync(join(tmpdir(), 'latchkey-core-build-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]))

describe('built output', () => {
  it('compiles with no Node types and imports from plain Node ESM', () => {
    // tsconfig.build.json sets `types: []`: a Node-only API in src fails this compile.
    execFileSync(process.execPath, [join(pkg, '../../node_modules/typescript/bin/tsc'), '-p', join(pkg, 'tsconfig.build.json'), '--outDir', out], { stdio: 'pipe' })
    const js = files(out).filter((f) => f.endsWith('.js'))
    for (const f of js) expect(readFileSync(f, 'utf8')).not.toMatch(/from ['"](node:|react|expo)/)
    const keys = execFileSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(join(out, 'index.js'))}).then(m => console.log(JSON.stringify(Object.keys(m))))`], { encoding: 'utf8' })
    expect(JSON.parse(keys)).toEqual(expect.arrayContaining(['createSessionClient', 'memoryStorage', 'oauth2Refresh', 'oauth2Revoke', 'attachAxios', 'webLocks', 'broadcastSync']))
  }, 60_000)
})
