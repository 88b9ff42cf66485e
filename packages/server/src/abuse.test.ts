// Abuse of sign-in, from the security review of 2026-11-23 (OWASP ASVS 5.0 V6, NIST SP 800-63B
// §5.2.2): an unbounded password-hash queue.
import { describe, expect, test, vi } from 'vitest'
import { createPasswordHasher, type Argon2Functions } from './crypto/password.js'
import { pgliteBackend } from './test-support/databases.js'
import { postJson, serverForSuite, uniqueEmail } from './test-support/server.js'

/** A call that waits until `open()` is called. */
function gate() {
  let open!: () => void
  const opened = new Promise<void>((r) => (open = r))
  return { open, opened }
}

describe('the password-hash queue has a bound', () => {
  describe('queue cap', () => {
    const held = gate()
    const argon2: Argon2Functions = {
      hash: async () => 'not a real hash',
      async verify() {
        await held.opened
        return false
      },
    }
    const passwords = createPasswordHasher({ concurrency: 1, maxQueue: 4, queueTimeoutMs: 600_000, argon2 })
    const suite = serverForSuite(pgliteBackend, { passwords })

    test('with one hashing slot and a queue of 4, 1 + 4 + 3 concurrent sign-ins → 3 immediate 503 with Retry-After, the rest answered once hashing resumes; never a 500', async () => {
      const seen: number[] = []
      try {
        const responses = Array.from({ length: 1 + 4 + 3 }, () =>
          postJson(suite.server.url, '/auth/sign-in', { email: uniqueEmail('flood'), password: 'wrong password' }).then((r) => {
            seen.push(r.status)
            return r
          }),
        )
        // While the one hash in progress is held, only refusals can come back.
        await vi.waitFor(() => expect(seen).toHaveLength(3), { timeout: 30_000, interval: 20 })
        expect(seen).toEqual([503, 503, 503])
        expect(passwords.inFlight()).toEqual({ active: 1, waiting: 4, refused: 3 })
        held.open()
        const all = await Promise.all(responses)
        expect(all.map((r) => r.status).sort()).toEqual([401, 401, 401, 401, 401, 503, 503, 503])
        for (const r of all.filter((x) => x.status === 503)) {
          expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
          expect(await r.json()).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) })
        }
      } finally {
        held.open()
      }
    })
  })

  describe('deadline', () => {
    const held = gate()
    const argon2: Argon2Functions = {
      hash: async () => 'not a real hash',
      async verify() {
        await held.opened
        return false
      },
    }
    const passwords = createPasswordHasher({ concurrency: 1, maxQueue: 100, queueTimeoutMs: 200, argon2 })
    const suite = serverForSuite(pgliteBackend, { passwords })

    test('a sign-in waiting past its deadline is answered 503 with Retry-After', async () => {
      try {
        const email = uniqueEmail('waiting')
        const first = postJson(suite.server.url, '/auth/sign-in', { email: uniqueEmail('first'), password: 'wrong password' })
        await vi.waitFor(() => expect(passwords.inFlight().active).toBe(1), { timeout: 30_000, interval: 10 })
        const late = await postJson(suite.server.url, '/auth/sign-in', { email, password: 'wrong password' })
        expect(late.status).toBe(503)
        expect(Number(late.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
        held.open()
        expect((await first).status).toBe(401)
      } finally {
        held.open()
      }
    })
  })
})
