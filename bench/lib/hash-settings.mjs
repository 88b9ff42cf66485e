// Each side's password hashing settings, read from the code that runs (not restated by hand).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const serverDist = fileURLToPath(new URL('../../packages/server/dist/', import.meta.url))

export async function latchkeyHashSettings() {
  const { ARGON2_OPTIONS } = await import(pathToFileURL(join(serverDist, 'crypto', 'password.js')).href)
  return {
    algorithm: ARGON2_OPTIONS.algorithm === 2 ? 'argon2id' : `argon2 (algorithm ${ARGON2_OPTIONS.algorithm})`,
    memoryKiB: ARGON2_OPTIONS.memoryCost,
    iterations: ARGON2_OPTIONS.timeCost,
    parallelism: ARGON2_OPTIONS.parallelism,
    implementation: '@node-rs/argon2 (native, libuv thread pool)',
    options: ARGON2_OPTIONS,
  }
}

/** Better Auth's default: scrypt from @better-auth/utils (node:crypto on Node). */
export function betterAuthHashSettings() {
  const require = createRequire(pathToFileURL(join(fileURLToPath(new URL('../../', import.meta.url)), 'node_modules', 'better-auth', 'package.json')))
  const file = require.resolve('@better-auth/utils/password')
  const source = readFileSync(file.replace(/\.cjs$/, '.mjs'), 'utf8')
  const num = (name) => Number(new RegExp(`\\b${name}:\\s*(\\d+)`).exec(source)?.[1] ?? NaN)
  const N = num('N')
  const r = num('r')
  return {
    algorithm: 'scrypt',
    N,
    r,
    p: num('p'),
    dkLen: num('dkLen'),
    memoryKiB: (128 * N * r) / 1024,
    implementation: `node:crypto scrypt via @better-auth/utils (${file.split('node_modules/')[1]})`,
  }
}
