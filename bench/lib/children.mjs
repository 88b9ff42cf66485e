// Child processes (servers, proxies) that report readiness over IPC and stop when told to.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const live = new Set()
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/**
 * Forks `bench/lib/<script>` with `options` (JSON in argv). Resolves once the child sends
 * `{ type: 'ready', ... }`; rejects if it exits or stays silent for `timeoutMs`.
 */
export function startChild(script, options = {}, { timeoutMs = 120_000, env, execPath } = {}) {
  const path = fileURLToPath(new URL(script, import.meta.url))
  const child = fork(path, [JSON.stringify(options)], {
    // execPath: another runtime for the child (Bun speaks Node's IPC), default this Node.
    ...(execPath ? { execPath } : {}),
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  })
  // A child's stdout must never mix with result lines.
  child.stdout.on('data', (d) => process.stderr.write(d))
  live.add(child)
  child.on('exit', () => live.delete(child))
  let seq = 0
  const pending = new Map()
  child.on('message', (m) => {
    if (m && m.type === 'reply' && pending.has(m.id)) {
      const { resolve, reject } = pending.get(m.id)
      pending.delete(m.id)
      if (m.error) reject(new Error(`${script}: ${m.error}`))
      else resolve(m.value)
    }
  })
  const handle = {
    child,
    /** Sends a command the child answers with `{ type: 'reply', id, value | error }`. */
    call(command, args = {}) {
      return new Promise((resolve, reject) => {
        const id = ++seq
        pending.set(id, { resolve, reject })
        child.send({ type: 'call', id, command, args })
      })
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.send({ type: 'stop' })
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(t)
    },
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${script} did not become ready within ${timeoutMs} ms`))
    }, timeoutMs)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${script} exited before ready (code ${code}, signal ${signal})`))
    })
    child.on('message', (m) => {
      if (m && m.type === 'ready') {
        clearTimeout(timer)
        resolve(Object.assign(handle, { info: m }))
      }
      if (m && m.type === 'failed') {
        clearTimeout(timer)
        reject(new Error(`${script}: ${m.error}`))
      }
    })
  })
}

/**
 * The child side: parses options, runs `start(options)` which returns `{ info, commands, close }`,
 * reports ready, answers commands, closes and exits on `stop` or when the parent goes away.
 */
export async function childMain(start) {
  const options = JSON.parse(process.argv[2] ?? '{}')
  let running
  const shutdown = async () => {
    try {
      await running?.close?.()
    } finally {
      process.exit(0)
    }
  }
  process.on('disconnect', shutdown)
  process.on('SIGTERM', shutdown)
  try {
    running = await start(options)
  } catch (e) {
    process.send?.({ type: 'failed', error: e?.stack ?? String(e) })
    process.exit(1)
  }
  process.on('message', async (m) => {
    if (m?.type === 'stop') return shutdown()
    if (m?.type === 'call') {
      try {
        const fn = running.commands?.[m.command]
        if (!fn) throw new Error(`unknown command ${m.command}`)
        process.send({ type: 'reply', id: m.id, value: await fn(m.args) })
      } catch (e) {
        process.send({ type: 'reply', id: m.id, error: e?.stack ?? String(e) })
      }
    }
  })
  process.send({ type: 'ready', ...running.info })
}
