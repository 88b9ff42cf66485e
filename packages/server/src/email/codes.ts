import { createHmac, randomInt, randomUUID, timingSafeEqual } from 'node:crypto'
import type { Transaction } from 'kysely'
import type { Database, EmailCodePurpose } from '../db/schema.js'

/** Codes are valid this long (minutes): OWASP Forgot Password Cheat Sheet, "tokens … should expire after an appropriate period". */
export const CODE_MINUTES = 15
/** Wrong guesses a code survives; the next wrong one kills it (NIST SP 800-63B-4 §3.1.2: limited attempts on a short secret). */
export const CODE_ATTEMPTS = 5

/**
 * A one-time code: 8 decimal digits from the CSPRNG (NIST SP 800-63B-4 §3.1.2.1, look-up / out of
 * band secrets: at least 20 bits of entropy from an approved random generator; 8 digits are 26.6
 * bits). With at most `CODE_ATTEMPTS` guesses per code a guesser wins with probability 5·10⁻⁸.
 */
export function newCode(): string {
  return String(randomInt(0, 100_000_000)).padStart(8, '0')
}

/** Digits only, spaces and dashes a user may type dropped. */
export const normalizeCode = (code: string) => code.replace(/[\s-]/g, '')

/**
 * Codes are kept as HMAC-SHA256 under a key derived from the server key, bound to the row id
 * (OWASP Forgot Password Cheat Sheet: store tokens hashed): a copy of the table alone lets nobody
 * test the 10⁸ candidates offline.
 */
export class CodeMac {
  readonly #key: Buffer
  constructor(serverKey: Buffer) {
    this.#key = createHmac('sha256', serverKey).update('latchkey-email-code-v1').digest()
  }
  of(id: string, code: string): string {
    return createHmac('sha256', this.#key).update(`${id}:${code}`).digest('base64url')
  }
  matches(id: string, code: string, stored: string): boolean {
    const a = Buffer.from(this.of(id, code))
    const b = Buffer.from(stored)
    return a.length === b.length && timingSafeEqual(a, b)
  }
}

/** Stores a new code for (user, purpose); every earlier unused one of that purpose dies (only the newest is valid). */
export async function storeCode(trx: Transaction<Database>, mac: CodeMac, input: { userId: string; purpose: EmailCodePurpose; code: string; now: Date }): Promise<void> {
  const { userId, purpose, now } = input
  await trx.updateTable('email_codes').set({ used_at: now }).where('user_id', '=', userId).where('purpose', '=', purpose).where('used_at', 'is', null).execute()
  const id = randomUUID()
  await trx
    .insertInto('email_codes')
    .values({ id, user_id: userId, purpose, code_hash: mac.of(id, input.code), created_at: now, expires_at: new Date(now.getTime() + CODE_MINUTES * 60_000), used_at: null })
    .execute()
}

/**
 * Checks and uses up the account's live code of `purpose` inside `trx` (its row locked): true when
 * `code` is right (the code is then used), false otherwise (a wrong guess counts; the
 * `CODE_ATTEMPTS`th wrong one kills the code). A used, dead or expired code never matches.
 */
export async function consumeCode(trx: Transaction<Database>, mac: CodeMac, input: { userId: string; purpose: EmailCodePurpose; code: string; now: Date }): Promise<boolean> {
  const { userId, purpose, now } = input
  const row = await trx
    .selectFrom('email_codes')
    .select(['id', 'code_hash', 'attempts'])
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .limit(1)
    .forUpdate()
    .executeTakeFirst()
  if (!row) return false
  if (mac.matches(row.id, normalizeCode(input.code), row.code_hash)) {
    await trx.updateTable('email_codes').set({ used_at: now }).where('id', '=', row.id).execute()
    return true
  }
  const attempts = row.attempts + 1
  await trx
    .updateTable('email_codes')
    .set({ attempts, used_at: attempts >= CODE_ATTEMPTS ? now : null })
    .where('id', '=', row.id)
    .execute()
  return false
}
