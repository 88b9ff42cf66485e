import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))
export const serverScript = `${repoRoot}scripts/server.mjs`
export const cliPath = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))

/** Builds dist through `scripts/server.mjs help` (which builds only when dist is missing or stale). */
export function ensureBuilt(): void {
  execFileSync(process.execPath, [serverScript, 'help'], { cwd: repoRoot, stdio: 'pipe' })
}

export interface ServerProcess {
  child: ChildProcess
  url: string
  output: () => string
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** The Bun runtime installed from npm (devDependency `bun`). */
export const bunPath = `${repoRoot}node_modules/.bin/bun`

/** Spawns `node <script> ...args` (or another runtime's) and waits for "listening on <url>". */
export function spawnServer(
  args: string[],
  env: Record<string, string | undefined>,
  cwd = repoRoot,
  timeoutMs = 90_000,
  runtime: string = process.execPath,
): Promise<ServerProcess> {
  const child = spawn(runtime, args, { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not start in ${timeoutMs} ms:\n${out}`))
    }, timeoutMs)
    const onData = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (!m) return
      clearTimeout(timer)
      child.stdout!.off('data', onData)
      resolve({
        child,
        url: m[1]!,
        output: () => out,
        stop: (signal = 'SIGTERM') => {
          if (child.exitCode === null) child.kill(signal)
          return exited
        },
      })
    }
    child.stdout!.on('data', onData)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code} before listening:\n${out}`))
    })
  })
}
