import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

/** Debian's PgBouncer (`apt-get install pgbouncer`; `.ci/run` installs it), or PGBOUNCER. */
export const PGBOUNCER = process.env.PGBOUNCER ?? '/usr/sbin/pgbouncer'

export interface RunningPgBouncer {
  /** `databaseUrl` with its host and port replaced by PgBouncer's. */
  through(databaseUrl: string): string
  /** [major, minor] of the binary. */
  version: [number, number]
  close(): Promise<void>
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })

/**
 * A real PgBouncer in front of the PostgreSQL of `databaseUrl` (trust auth, as the test server
 * is), in transaction pooling mode with `serverConnections` server connections: each transaction
 * of a client may run on another server connection. Runs as `postgres` when started by root
 * (PgBouncer refuses root).
 */
export async function startPgBouncer(databaseUrl: string, serverConnections = 2): Promise<RunningPgBouncer> {
  if (!existsSync(PGBOUNCER)) throw new Error(`PgBouncer not found at ${PGBOUNCER}: apt-get install pgbouncer (or set PGBOUNCER)`)
  const target = new URL(databaseUrl)
  const user = decodeURIComponent(target.username || 'postgres')
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-pgbouncer-'))
  chmodSync(dir, 0o755)
  const port = await freePort()
  writeFileSync(join(dir, 'users.txt'), `"${user}" ""\n`, { mode: 0o644 })
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${target.hostname} port=${target.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${serverConnections}`,
      'max_client_conn = 200',
      'unix_socket_dir =',
      'ignore_startup_parameters = extra_float_digits,application_name',
      '',
    ].join('\n'),
    { mode: 0o644 },
  )
  const asRoot = process.getuid?.() === 0
  const child: ChildProcess = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d) => (stderr += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const through = (url: string) => {
    const u = new URL(url)
    u.hostname = '127.0.0.1'
    u.port = String(port)
    return u.toString()
  }
  // Ready once it accepts a query (an event, not a sleep: each attempt waits for its answer).
  for (;;) {
    if (child.exitCode !== null) throw new Error(`PgBouncer exited (${child.exitCode}): ${stderr.slice(0, 500)}`)
    const c = new pg.Client({ connectionString: through(databaseUrl) })
    try {
      await c.connect()
      await c.query('select 1')
      await c.end()
      break
    } catch {
      await c.end().catch(() => undefined)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const m = /(\d+)\.(\d+)/.exec(execFileSync(PGBOUNCER, ['--version'], { encoding: 'utf8' }))
  return {
    through,
    version: [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)],
    async close() {
      child.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
