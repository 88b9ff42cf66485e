// The readable table printed to stderr at the end of a run (and pasted into README.md).
// Every figure of every result, flattened to `path value`, parameters summarised on one line.

const SKIP = new Set(['bench', 'quick', 'params', 'seconds', 'notes'])

function flatten(value, prefix, rows) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, rows)
  } else {
    rows.push([prefix, Array.isArray(value) ? value.join(', ') : value === null ? '—' : String(value)])
  }
  return rows
}

export function renderTable(doc, { markdown = false } = {}) {
  const lines = []
  const head = `${doc.date} · node ${doc.node} · ${doc.cpus} CPUs (${doc.cpuModel ?? 'unknown'}) · ${doc.totalMemoryGiB} GiB · load ${doc.loadAverageAtStart ?? '?'} → ${doc.loadAverageAtEnd ?? '?'}${doc.quick ? ' · QUICK' : ''}`
  if (markdown) {
    lines.push(`_${head}_`, '', '| bench | figure | value |', '|---|---|---|')
  } else lines.push(head)
  for (const r of doc.results) {
    const rows = []
    for (const [k, v] of Object.entries(r)) if (!SKIP.has(k)) flatten(v, k, rows)
    const params = r.params ? Object.entries(r.params).filter(([, v]) => typeof v !== 'string' || v.length < 40).map(([k, v]) => `${k}=${v}`).join(' ') : ''
    if (markdown) {
      lines.push(`| **${r.bench}** | _${params}_ | ${r.seconds ?? ''} s |`)
      for (const [k, v] of rows) lines.push(`| | ${k} | ${v} |`)
    } else {
      lines.push('', `${r.bench}  (${params}; ${r.seconds ?? '?'} s)`)
      const width = Math.max(...rows.map(([k]) => k.length))
      for (const [k, v] of rows) lines.push(`  ${k.padEnd(width)}  ${v}`)
    }
  }
  for (const f of doc.failures ?? []) lines.push(markdown ? `| **${f.bench}** | FAILED | ${f.error} |` : `\n${f.bench}  FAILED: ${f.error}`)
  return lines.join('\n')
}
