import { randomBytes } from 'node:crypto'
import { hash, verify, type Algorithm, type Options } from '@node-rs/argon2'

/**
 * Argon2id with OWASP's first recommended setting (Password Storage Cheat Sheet: m = 19 MiB,
 * t = 2, p = 1). @node-rs/argon2's async functions run on libuv's thread pool, off the event loop.
 */
export const ARGON2_OPTIONS: Options = {
  algorithm: 2 as Algorithm, // Argon2id (a const enum in the package's types)
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
}

export const hashPassword = (password: string): Promise<string> => hash(password, ARGON2_OPTIONS)

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password)
  } catch {
    return false
  }
}

/**
 * A hash of a random password with the same parameters: sign-in with an unknown email is
 * verified against it, so it costs the same time as a wrong password for a real account
 * (OWASP Authentication Cheat Sheet: avoid account enumeration through response times).
 */
let dummy: Promise<string> | undefined
export const dummyPasswordHash = (): Promise<string> => (dummy ??= hashPassword(randomBytes(18).toString('base64url')))
