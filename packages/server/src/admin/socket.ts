import { chmodSync, mkdirSync, unlinkSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'

/**
 * The admin channel of a server on a PGlite folder (security review finding 7): a Unix domain
 * socket in the data folder, so that `latchkey-server rotate-keys` can ask the process that holds
 * the folder's lock to rotate, instead of opening the folder a second time.
 *
 * Access control is the file system's, as for PostgreSQL's own Unix socket and Docker's: the
 * socket sits in `<data folder>/run`, a folder of mode 0700 made before the socket exists (so no
 * other user can reach it between bind and chmod), and is itself 0600. Only the account the server
 * runs as (and root) can connect; whoever can do that can read the database files anyway. There is
 * no TCP listener and the protocol carries no secrets: one JSON line asks, one answers.
 */
export const ADMIN_SOCKET = join('run', 'admin.sock')

export const adminSocketPath = (dataDir: string) => join(dataDir, ADMIN_SOCKET)

/** A command's answer: a JSON object, or an error message without secrets. `args`: the request's `args` object ({} when none). */
export type AdminHandler = (args: Record<string, unknown>) => Promise<Record<string, unknown>>

export interface AdminChannel {
  path: string
  close(): Promise<void>
}

const MAX_REQUEST_BYTES = 1024

/** Listens on `<dataDir>/run/admin.sock`. Call only while holding the folder's lock: a socket file left there is stale and removed. */
export async function startAdminChannel(dataDir: string, handlers: Record<string, AdminHandler>): Promise<AdminChannel> {
  const runDir = join(dataDir, 'run')
  mkdirSync(runDir, { recursive: true, mode: 0o700 })
  chmodSync(runDir, 0o700)
  const path = adminSocketPath(dataDir)
  try {
    unlinkSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  const server: Server = createServer((socket) => serveOne(socket, handlers))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => {
      server.off('error', reject)
      resolve()
    })
  })
  chmodSync(path, 0o600)
  server.unref()
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
      }),
  }
}

function serveOne(socket: Socket, handlers: Record<string, AdminHandler>): void {
  let buffer = ''
  socket.setEncoding('utf8')
  socket.setTimeout(10_000, () => socket.destroy())
  socket.on('error', () => undefined)
  const answer = (body: Record<string, unknown>) => socket.end(`${JSON.stringify(body)}\n`)
  socket.on('data', (chunk: string) => {
    buffer += chunk
    if (buffer.length > MAX_REQUEST_BYTES) return void socket.destroy()
    const newline = buffer.indexOf('\n')
    if (newline < 0) return
    socket.pause()
    let command: unknown
    let args: unknown
    try {
      ;({ command, args } = JSON.parse(buffer.slice(0, newline)) as { command?: unknown; args?: unknown })
    } catch {
      command = undefined
    }
    const handler = typeof command === 'string' && Object.hasOwn(handlers, command) ? handlers[command] : undefined
    if (!handler) return answer({ ok: false, error: `unknown admin command ${JSON.stringify(command)}` })
    handler(typeof args === 'object' && args !== null && !Array.isArray(args) ? (args as Record<string, unknown>) : {}).then(
      (result) => answer({ ok: true, ...result }),
      (e: unknown) => answer({ ok: false, error: e instanceof Error ? e.message : String(e) }),
    )
  })
}

export class AdminChannelUnavailableError extends Error {
  override name = 'AdminChannelUnavailableError'
}

/**
 * Sends one command to the server holding `dataDir` and returns its answer. Throws
 * AdminChannelUnavailableError when no server listens there (none runs, or it is still starting).
 */
export function callAdmin(dataDir: string, command: string, timeoutMs = 60_000, args?: Record<string, unknown>): Promise<Record<string, unknown>> {
  const path = adminSocketPath(dataDir)
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    let buffer = ''
    socket.setEncoding('utf8')
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`the server on ${dataDir} did not answer the ${command} command in ${timeoutMs / 1000} s`)))
    socket.on('connect', () => socket.write(`${JSON.stringify(args ? { command, args } : { command })}\n`))
    socket.on('data', (chunk: string) => (buffer += chunk))
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') reject(new AdminChannelUnavailableError(`no server answers on ${path}`))
      else reject(e)
    })
    socket.on('end', () => {
      try {
        const body = JSON.parse(buffer) as Record<string, unknown>
        if (body.ok === true) resolve(body)
        else reject(new Error(String(body.error ?? 'the server refused the command')))
      } catch {
        reject(new Error(`the server on ${dataDir} closed the admin connection without an answer`))
      }
    })
  })
}
