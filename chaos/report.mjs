// The table per fault type / event, the last line, and the JSON report.
import { mkdirSync, writeFileSync } from 'node:fs'
import { CLASSES } from './classify.mjs'
import { KINDS } from './scenarios.mjs'

const CLASS_IDS = Object.keys(CLASSES).map(Number)

/** Rows: every kind, then recovery and the servers; columns: scenarios, violations per class, by design. */
export function table(scenarios, violations, byDesign) {
  const rows = [...KINDS, 'recovery', '(servers)']
  const extra = new Set([...violations, ...byDesign].map((v) => v.kind).filter((k) => !rows.includes(k)))
  rows.push(...extra)
  const header = ['kind', 'scenarios', ...CLASS_IDS.map((c) => `${c}:${CLASSES[c]}`), 'by-design']
  const lines = [header]
  for (const kind of rows) {
    const n = scenarios.filter((s) => s.kind === kind).length
    const vs = violations.filter((v) => v.kind === kind)
    const bd = byDesign.filter((v) => v.kind === kind).length
    if (!KINDS.includes(kind) && vs.length === 0 && bd === 0) continue
    lines.push([kind, String(KINDS.includes(kind) ? n : '-'), ...CLASS_IDS.map((c) => String(vs.filter((v) => v.class === c).length)), String(bd)])
  }
  const total = ['total', String(scenarios.length), ...CLASS_IDS.map((c) => String(violations.filter((v) => v.class === c).length)), String(byDesign.length)]
  lines.push(total)
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)))
  return lines.map((l) => l.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n')
}

/** `chaos: N scenarios, V violations (sign-out a, unsettled b, recovery c, server d, unnoticed-reuse e; by-design f)` */
export function lastLine(scenarios, violations, byDesign) {
  const counts = CLASS_IDS.map((c) => `${CLASSES[c]} ${violations.filter((v) => v.class === c).length}`).join(', ')
  return `chaos: ${scenarios.length} scenarios, ${violations.length} violations (${counts}; by-design ${byDesign.length})`
}

export function writeReport(dir, seed, report) {
  mkdirSync(dir, { recursive: true })
  const json = JSON.stringify(report, null, 2)
  writeFileSync(new URL(`seed-${seed}.json`, dir), json)
  writeFileSync(new URL('latest.json', dir), json)
}
