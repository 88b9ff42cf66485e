import { startChild } from '/work/main/bench/lib/children.mjs'
import axios from 'axios'
const server = await startChild('latchkey-child.mjs', { databaseUrl: 'postgres://postgres@127.0.0.1:5432/lk_probe', refreshGrace: 0, rateLimit: false })
const proxy = await startChild('proxy-child.mjs', { upstream: server.info.url })
const res = await fetch(`${server.info.url}/auth/sign-up`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'p@x.io', password: 'correct horse battery' }) })
const { access_token } = await res.json()
for (const [name, base] of [['direct', server.info.url], ['proxy', proxy.info.url]]) {
  for (const lib of ['fetch', 'axios', 'fetch']) {
    const t = performance.now()
    let done = 0, max = 0
    await Promise.all(Array.from({ length: 1000 }, async () => {
      if (lib === 'fetch') { const r = await fetch(base + '/me', { headers: { authorization: 'Bearer ' + access_token } }); await r.arrayBuffer() }
      else await axios.get(base + '/me', { headers: { authorization: 'Bearer ' + access_token } })
      done++
    }))
    console.log(name, lib, Math.round(performance.now() - t), 'ms')
  }
}
await proxy.stop(); await server.stop()
