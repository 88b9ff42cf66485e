import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))

/** Runs `node chaos/run.mjs …` and resolves with its exit code and output. */
function runChaos(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['chaos/run.mjs', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('npm run chaos --quick', () => {
  it('keeps every install signed in through lost, held and stalled answers, restarts, offline periods, clock jumps and server kills', async () => {
    // With PostgreSQL: two server processes on one database plus one on PGlite; else PGlite only.
    const engine = process.env.LATCHKEY_TEST_DATABASE_URL ? [] : ['--pglite-only']
    const { code, stdout, stderr } = await runChaos(['--quick', '--seed', '7', ...engine])
    const last = stdout.trim().split('\n').at(-1) ?? ''
    const m = /^chaos: (\d+) scenarios, (\d+) violations \((.*)\)$/.exec(last)
    expect(m, `last line did not parse:\n${stdout}\n${stderr.slice(-4000)}`).not.toBeNull()
    expect(Number(m![1])).toBeGreaterThanOrEqual(60)
    expect(Number(m![2]), stdout).toBe(0)
    expect(code, stdout).toBe(0)
  }, 240_000)
})
