// Small helpers shared by the scenarios: statistics, timing, logging to stderr.
import { performance } from 'node:perf_hooks'

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
export const now = () => performance.now()

/** Progress and notes go to stderr; stdout carries only the result lines. */
export const log = (...parts) => process.stderr.write(`  ${parts.join(' ')}\n`)

export function percentile(values, p) {
  if (values.length === 0) return null
  const sorted = Float64Array.from(values).sort()
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}

export const median = (values) => percentile(values, 50)

/** Rounds to a few significant decimals so the JSON stays readable. */
export function round(x, digits = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return x ?? null
  const f = 10 ** digits
  return Math.round(x * f) / f
}

export const ratio = (a, b, digits = 2) => (a === null || b === null || b === 0 ? null : round(a / b, digits))

/** Runs `fn` over `count` items with at most `concurrency` in flight; returns per-item results. */
export async function pool(count, concurrency, fn) {
  const results = new Array(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      results[i] = await fn(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return results
}

/** Settles `promises` or gives up after `ms`: how many fulfilled, rejected, and are still pending. */
export async function settleWithin(promises, ms) {
  const state = promises.map(() => ({ done: false, ok: false, value: undefined, error: undefined }))
  promises.forEach((p, i) => {
    p.then(
      (value) => Object.assign(state[i], { done: true, ok: true, value }),
      (error) => Object.assign(state[i], { done: true, ok: false, error }),
    )
  })
  let timer
  const all = Promise.allSettled(promises)
  await Promise.race([all, new Promise((r) => (timer = setTimeout(r, ms)))])
  clearTimeout(timer)
  await new Promise((r) => setImmediate(r))
  return state
}

/** A syntactically valid, unsigned JWT (header.payload.signature) for clients that decode claims. */
export function fakeJwt(claims = {}, padBytes = 0) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const iat = Math.floor(Date.now() / 1000)
  const body = { sub: 'bench-user', sid: 'bench-session', iat, exp: iat + 600, ...claims }
  if (padBytes > 0) body.pad = 'x'.repeat(padBytes)
  return `${b64({ alg: 'ES256', typ: 'at+jwt' })}.${b64(body)}.${Buffer.alloc(64, 7).toString('base64url')}`
}

/** Runs `fn` with `concurrency` in flight for `seconds`; returns completions per second. */
export async function rate(fn, concurrency, seconds) {
  const end = now() + seconds * 1000
  let done = 0
  const t0 = now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (now() < end) {
        await fn()
        done++
      }
    }),
  )
  return round(done / ((now() - t0) / 1000), 1)
}
