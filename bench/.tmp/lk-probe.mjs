import { startChild } from '../lib/children.mjs'
import { CLIENTS } from '../lib/storm-clients.mjs'
const server = await startChild('latchkey-child.mjs', { dataDir: 'memory://', refreshGrace: 0, rateLimit: false, tap: true })
const proxy = server
for (const name of [process.argv[2] ?? 'latchkey']) {
  const res = await fetch(`${server.info.url}/auth/sign-up`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: name + '@x.io', password: 'correct horse battery' }) })
  const signedIn = await res.json()
  await server.call('advanceClock', { seconds: 700 })
  const client = await CLIENTS[name]({ baseUrl: proxy.info.url, tokenEndpoint: proxy.info.url + '/oauth/token', signedIn })
  const t = performance.now(); const times = []
  await Promise.allSettled(Array.from({ length: 1000 }, () => client.request('/me').then((s) => times.push([performance.now() - t, s]), (e) => times.push([performance.now() - t, e.code]))))
  times.sort((a, b) => a[0] - b[0])
  console.log(name, 'total', Math.round(performance.now() - t), 'p10', Math.round(times[100][0]), 'p50', Math.round(times[500][0]), 'p90', Math.round(times[900][0]), JSON.stringify(await server.call('counts')))
  client.close()
}
await server.stop()
