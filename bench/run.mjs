#!/usr/bin/env node
// Latchkey benchmarks: `npm run bench [-- --only NAME[,NAME]] [-- --quick]`.
// Before/after: `npm run bench -- --only server-sign-in-flood --before DIR [--rounds N]` starts the
// server of another checkout DIR (e.g. `git worktree add DIR <commit>`; built here if needed) and
// this tree's, interleaved in one run (scenarios marked `before: true`). Without --only, the whole
// run does that for those scenarios and runs the others as usual.
// Builds the workspace packages when their dist is missing or stale, runs each scenario in its
// own Node process (so servers, sockets and timers of one never leak into the next), prints one
// JSON line per scenario to stdout, writes bench/results/latest.json, and a table to stderr.
import { spawn } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { existsSync, writeFileSync, mkdirSync } from 'node:fs'
import os from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildPackages } from '../scripts/build-if-stale.mjs'

const benchDir = fileURLToPath(new URL('.', import.meta.url))
const root = join(benchDir, '..')

export const SCENARIOS = [
  { name: 'refresh-storm', needs: ['core', 'server'] },
  { name: 'fetch-overhead', needs: ['core'] },
  { name: 'cold-restore', needs: ['core', 'expo'] },
  { name: 'dpop-proof', needs: ['core', 'expo'] },
  { name: 'server-refresh', needs: ['server'], before: true },
  { name: 'server-verify', needs: ['server'] },
  { name: 'server-dpop', needs: ['server'] },
  { name: 'server-revocation-reach', needs: ['server'] },
  { name: 'server-sign-in', needs: ['server'] },
  { name: 'server-sign-in-flood', needs: ['server'], before: true },
  { name: 'peer-better-auth', needs: ['server'] },
  { name: 'server-runtimes', needs: ['server'] },
  { name: 'peer-oidc-provider', needs: ['server'] },
]

function parseArgs(argv) {
  const args = { quick: false, only: null, timeoutS: null, before: null, rounds: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--quick') args.quick = true
    else if (a === '--only') args.only = argv[++i]
    else if (a.startsWith('--only=')) args.only = a.slice('--only='.length)
    else if (a === '--before') args.before = argv[++i]
    else if (a.startsWith('--before=')) args.before = a.slice('--before='.length)
    else if (a === '--rounds') args.rounds = Number(argv[++i])
    else if (a.startsWith('--rounds=')) args.rounds = Number(a.slice('--rounds='.length))
    else if (a === '--help' || a === '-h') {
      process.stderr.write(`usage: node bench/run.mjs [--quick] [--only NAME[,NAME…]] [--before CHECKOUT [--rounds N]]\nscenarios: ${SCENARIOS.map((s) => s.name).join(', ')}\n`)
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
  if (args.rounds !== null && !(Number.isInteger(args.rounds) && args.rounds >= 1)) {
    process.stderr.write('--rounds takes a positive integer\n')
    process.exit(2)
  }
  if (args.before && args.only) {
    // A whole run with --before compares the scenarios that can and runs the others as usual.
    const unsupported = args.only.filter((n) => !SCENARIOS.find((s) => s.name === n).before)
    if (unsupported.length) {
      process.stderr.write(`--before is supported by ${SCENARIOS.filter((s) => s.before).map((s) => s.name).join(', ')} only (not: ${unsupported.join(', ')}); without --only, a whole run compares those and runs the rest as usual\n`)
      process.exit(2)
    }
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

/**
 * The other checkout's server package (a repository root or its packages/server), built with that
 * checkout's own compiler when its dist is missing; returns the package folder and its commit.
 */
function beforeServer(dir) {
  const given = resolve(dir)
  const serverDir = existsSync(join(given, 'packages', 'server', 'package.json')) ? join(given, 'packages', 'server') : given
  if (!existsSync(join(serverDir, 'package.json'))) throw new Error(`--before ${dir}: no packages/server there`)
  if (!existsSync(join(serverDir, 'dist', 'index.js'))) {
    process.stderr.write(`building the server in ${serverDir}\n`)
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: serverDir, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, CI: '1' } })
  }
  let commit = null
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: serverDir, encoding: 'utf8' }).trim()
  } catch {
    // not a git checkout
  }
  return { serverDir, commit }
}

function runScenario(name, { quick, timeoutS, before, rounds }) {
  return new Promise((resolve) => {
    const started = Date.now()
    const flags = [...(quick ? ['--quick'] : []), ...(before ? ['--before', before, ...(rounds ? ['--rounds', String(rounds)] : [])] : [])]
    const child = spawn(process.execPath, [join(benchDir, 'lib', 'scenario-main.mjs'), name, ...flags], {
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
  const before = args.before ? beforeServer(args.before) : null

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
    // A comparison runs the scenario twice per round.
    const compared = before && s.before ? before.serverDir : undefined
    const timeoutS = (args.timeoutS ?? (args.quick ? 240 : 420)) * (compared ? 2 * (args.rounds ?? 3) : 1)
    const r = await runScenario(s.name, { quick: args.quick, timeoutS, before: compared, rounds: args.rounds })
    if (r.ok) results.push({ ...r.result, seconds: r.seconds })
    else {
      failures.push({ bench: s.name, error: r.error })
      process.stderr.write(`✗ ${s.name}: ${r.error}\n`)
    }
  }

  const doc = { ...machine, ...(before ? { before: { dir: before.serverDir, commit: before.commit } } : {}), loadAverageAtEnd: Math.round(os.loadavg()[0] * 100) / 100, quick: args.quick, totalSeconds: Math.round((Date.now() - started) / 1000), results, failures }
  mkdirSync(join(benchDir, 'results'), { recursive: true })
  // A comparison of some scenarios is not the README's figures (bench/summary.mjs reads
  // latest.json): its own file. A whole run is, comparisons included.
  const resultsFile = before && args.only ? 'before-after.json' : 'latest.json'
  writeFileSync(join(benchDir, 'results', resultsFile), `${JSON.stringify(doc, null, 2)}\n`)

  const { renderTable } = await import('./lib/table.mjs')
  process.stderr.write(`\n${renderTable(doc)}\n`)
  process.stderr.write(`results: bench/results/${resultsFile} · ${doc.totalSeconds} s${failures.length ? ` · ${failures.length} failed: ${failures.map((f) => f.bench).join(', ')}` : ''}\n`)
  process.exit(failures.length ? 1 : 0)
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`)
  process.exit(1)
})
