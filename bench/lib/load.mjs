// Load generation with autocannon (programmatic API), reduced to the figures the scenarios report.
import autocannon from 'autocannon'
import { round } from './util.mjs'

/**
 * Runs autocannon and returns successful requests per second (2xx only), latency percentiles
 * (ms) and error counts. `options` are autocannon's own (url may be an array of URLs).
 */
export async function load(options) {
  const result = await autocannon({ timeout: 10, ...options })
  const total = result.requests.total
  const ok2xx = Object.entries(result.statusCodeStats ?? {})
    .filter(([code]) => code.startsWith('2'))
    .reduce((n, [, s]) => n + Number(s.count), 0)
  const sampled = total > 0 // with no completed request autocannon reports 0 latencies; say "none" instead
  return {
    requests: total,
    sent: result.requests.sent ?? null,
    ok: ok2xx,
    perSec: round(ok2xx / result.duration, 1),
    p50Ms: sampled ? result.latency.p50 : null,
    p99Ms: sampled ? result.latency.p99 : null,
    maxMs: sampled ? result.latency.max : null,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, Number(v.count)])),
    durationS: round(result.duration, 2),
  }
}
