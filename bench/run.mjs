#!/usr/bin/env node
// Latchkey benchmarks: `npm run bench [-- --only NAME[,NAME]] [-- --quick]`.
// Builds the workspace packages when their dist is missing or stale, runs each scenario in its
// own Node process (so servers, sockets and timers of one never leak into the next), prints one
// JSON line per scenario to stdout, writes bench/results/latest.json, and a table to stderr.
import { spawn } from 'node:child_process'
import { writeFileSync, mkdirSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildPackages } from '../scripts/build-if-stale.mjs'

const benchDir = fileURLToPath(new URL('.', import.meta.url))
const root = join(benchDir, '..')

export const SCENARIOS = [
  { name: 'refresh-storm', needs: ['core', 'server'] },
  { name: 'fetch-overhead', needs: ['core'] },
  { name: 'cold-restore', needs: ['core', 'expo'] },
  { name: 'server-refresh', needs: ['server'] },
  { name: 'server-verify', needs: ['server'] },
  { name: 'server-sign-in', needs: ['server'] },
  { name: 'server-sign-in-flood', needs: ['server'] },
  { name: 'peer-better-auth', needs: ['server'] },
]

function parseArgs(argv) {
  const args = { quick: false, only: null, timeoutS: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--quick') args.quick = true
    else if (a === '--only') args.only = argv[++i]
    else if (a.startsWith('--only=')) args.only = a.slice('--only='.length)
    else if (a === '--help' || a === '-h') {
      process.stderr.write(`usage: node bench/run.mjs [--quick] [--only NAME[,NAME…]]\nscenarios: ${SCENARIOS.map((s) => s.name).join(', ')}\n`)
      process.exit(0)
    } else {
      process.stderr.write(`unknown option ${a} (try --help)\n`)
      process.exit(2)
    }
  }
  if (args.only) {
    const names = args.only.split(',').map((s) => s.trim()).filter(Boolean)
    const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n))
    if (unknown.length) {
      process.stderr.write(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}\n`)
      process.exit(2)
    }
    args.only = names
  }
  return args
}

/** Builds stale packages (in order) with the same rule as `npm start`; returns the ones that failed. */
function buildPackagesReportingFailures(names) {
  return names.filter((name) => {
    try {
      buildPackages([name])
      return false
    } catch {
      return true
    }
  })
}

function runScenario(name, { quick, timeoutS }) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, [join(benchDir, 'lib', 'scenario-main.mjs'), name, ...(quick ? ['--quick'] : [])], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true, // its own process group, so a timeout also stops the servers it started
    })
    let out = ''
    let result = null
    child.stdout.on('data', (d) => {
      out += d
      let nl
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl)
        out = out.slice(nl + 1)
        try {
          const parsed = JSON.parse(line)
          if (parsed && parsed.bench === name) {
            result = parsed
            process.stdout.write(`${line}\n`)
            continue
          }
        } catch {
          // not a result line
        }
        if (line.trim()) process.stderr.write(`${line}\n`)
      }
    })
    const timer = setTimeout(() => {
      process.stderr.write(`${name}: timed out after ${timeoutS} s, stopping it\n`)
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }, timeoutS * 1000)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      try {
        process.kill(-child.pid, 'SIGKILL') // anything it left behind
      } catch {
        // nothing left
      }
      const seconds = Math.round((Date.now() - started) / 100) / 10
      if (result && code === 0) resolve({ ok: true, result, seconds })
      else resolve({ ok: false, error: result ? `exit code ${code}` : `no result (exit code ${code}, signal ${signal})`, result, seconds })
    })
  })
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const selected = SCENARIOS.filter((s) => !args.only || args.only.includes(s.name))
  const started = Date.now()
  const needs = [...new Set(selected.flatMap((s) => s.needs))].sort((a, b) => ['core', 'server', 'expo'].indexOf(a) - ['core', 'server', 'expo'].indexOf(b))
  const failedBuilds = buildPackagesReportingFailures(needs)

  const machine = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    // Other work on the machine skews absolute figures; the 1-minute load average tells how much.
    loadAverageAtStart: Math.round(os.loadavg()[0] * 100) / 100,
  }
  process.stderr.write(`latchkey bench ${args.quick ? '(quick) ' : ''}${machine.date} · node ${machine.node} · ${machine.cpus} CPUs · ${machine.totalMemoryGiB} GiB\n`)

  const results = []
  const failures = []
  for (const s of selected) {
    const broken = s.needs.filter((n) => failedBuilds.includes(n))
    if (broken.length) {
      failures.push({ bench: s.name, error: `build failed: ${broken.map((n) => `@latchkey/${n}`).join(', ')}` })
      process.stderr.write(`\n▶ ${s.name}: skipped, build failed (${broken.join(', ')})\n`)
      continue
    }
    process.stderr.write(`\n▶ ${s.name}\n`)
    const timeoutS = args.timeoutS ?? (args.quick ? 240 : 420)
    const r = await runScenario(s.name, { quick: args.quick, timeoutS })
    if (r.ok) results.push({ ...r.result, seconds: r.seconds })
    else {
      failures.push({ bench: s.name, error: r.error })
      process.stderr.write(`✗ ${s.name}: ${r.error}\n`)
    }
  }

  const doc = { ...machine, loadAverageAtEnd: Math.round(os.loadavg()[0] * 100) / 100, quick: args.quick, totalSeconds: Math.round((Date.now() - started) / 1000), results, failures }
  mkdirSync(join(benchDir, 'results'), { recursive: true })
  writeFileSync(join(benchDir, 'results', 'latest.json'), `${JSON.stringify(doc, null, 2)}\n`)

  const { renderTable } = await import('./lib/table.mjs')
  process.stderr.write(`\n${renderTable(doc)}\n`)
  process.stderr.write(`results: bench/results/latest.json · ${doc.totalSeconds} s${failures.length ? ` · ${failures.length} failed: ${failures.map((f) => f.bench).join(', ')}` : ''}\n`)
  process.exit(failures.length ? 1 : 0)
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`)
  process.exit(1)
})
