import { readFileSync, readdirSync } from 'node:fs'
const dir = 'bench/.tmp-prof/prof'
const f = readdirSync(dir).filter((x) => x.endsWith('.cpuprofile')).sort().pop()
const p = JSON.parse(readFileSync(`${dir}/${f}`))
const self = new Map(); const byId = new Map(p.nodes.map((n) => [n.id, n]))
const dt = new Map()
for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0))
let total = 0
const byFile = new Map()
for (const n of p.nodes) { const t = dt.get(n.id) ?? 0; total += t; const cf = n.callFrame; const k = `${cf.functionName || '(anon)'} ${cf.url.split('/node_modules/').pop().split('/').slice(-3).join('/')}:${cf.lineNumber}`; self.set(k, (self.get(k) ?? 0) + t)
  const pk = cf.url.includes('node_modules/') ? cf.url.split('node_modules/').pop().split('/').slice(0, cf.url.split('node_modules/').pop().startsWith('@') ? 2 : 1).join('/') : (cf.url.includes('packages/server') ? 'latchkey-server' : (cf.url || cf.functionName)); byFile.set(pk, (byFile.get(pk) ?? 0) + t) }
console.log('total ms', (total / 1000).toFixed(0))
console.log([...byFile].sort((a, b) => b[1] - a[1]).slice(0, 18).map(([k, v]) => `${(100 * v / total).toFixed(1)}% ${k}`).join('\n'))
console.log('---')
console.log([...self].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${(100 * v / total).toFixed(1)}% ${k}`).join('\n'))
