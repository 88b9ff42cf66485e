// The password policy (NIST SP 800-63B-4 §3.1.1.2, ASVS 5.0 V6.2): each rule, and the reason it names.
import { describe, expect, test } from 'vitest'
import { checkPasswordPolicy, loadPasswordBlocklist, type PasswordContext, type PasswordPolicyReason } from './password-policy.js'

const EMAIL = 'jane.doe1984@example.com'
// "e" followed by U+0301 COMBINING ACUTE ACCENT: two code points that NFKC composes into one "é".
const E_ACUTE = 'e\u0301'

describe('password policy', () => {
  const cases: Array<[string, string, PasswordContext, PasswordPolicyReason | 'ok']> = [
    ['8 plain characters pass', 'tvqzkmwp', {}, 'ok'],
    ['7 characters are too short', 'tvqzkmw', {}, 'password_too_short'],
    ['four e + combining accent are 8 UTF-16 units but 4 code points after NFKC: too short', E_ACUTE.repeat(4), {}, 'password_too_short'],
    ['eight e + combining accent are 8 code points after NFKC: long enough', `${E_ACUTE}x${E_ACUTE}y${E_ACUTE}zk${E_ACUTE}q`, {}, 'ok'],
    ['4 astral code points (8 UTF-16 units) are 4 characters: too short', '🔑🗝🚪🏠', {}, 'password_too_short'],
    ['8 astral code points pass', '🔑🗝🚪🏠🔑🌲🚪🌊', {}, 'ok'],
    ['a 64-character passphrase passes', 'the quick brown fox jumps over the lazy dog while humming softly', {}, 'ok'],
    ['256 characters pass (the default maximum)', 'Zq9!'.repeat(63) + 'wxyz', {}, 'ok'],
    ['257 characters are too long', 'Zq9!'.repeat(64) + 'w', {}, 'password_too_long'],
    ['a raised minimum applies', 'tvqzkmwpab', { minLength: 15 }, 'password_too_short'],
    ['"password" is common', 'password', {}, 'password_common'],
    ['"12345678" is common', '12345678', {}, 'password_common'],
    ['case does not hide a common password', 'PassWord1', {}, 'password_common'],
    ['fullwidth letters are NFKC-folded onto a common password', 'ｐａｓｓｗｏｒｄ', {}, 'password_common'],
    ['"iloveyou" is common', 'iloveyou', {}, 'password_common'],
    ['a repeated character is refused', 'aaaaaaaaaa', {}, 'password_common'],
    ['a repeated short unit is refused', '12341234', {}, 'password_common'],
    ['an ascending sequence is refused', 'abcdefghij', {}, 'password_common'],
    ['a descending sequence is refused', '87654321', {}, 'password_common'],
    ["the email's local part is refused", 'xx-jane.doe1984-xx', { email: EMAIL }, 'password_contains_context'],
    ["a piece of the email's local part is refused, in any case", 'correct JANE horse!', { email: EMAIL }, 'password_contains_context'],
    ["a three-letter piece of the local part is not a context word (it would refuse ordinary words)", 'the door does open', { email: EMAIL }, 'ok'],
    ['a three-letter local part is', 'bob the builder 9', { email: 'bob@example.com' }, 'password_contains_context'],
    ["the app's name is refused", 'MyLatchkeyPass99', {}, 'password_contains_context'],
    ["a configured app's name is refused", 'acmecorp rules 42', { appName: 'AcmeCorp' }, 'password_contains_context'],
    ['extra context words are refused', 'hello bobbins 42', { words: ['Bobbins'] }, 'password_contains_context'],
    ['an unrelated passphrase passes with the context', 'correct horse battery staple', { email: EMAIL, appName: 'AcmeCorp' }, 'ok'],
  ]

  test.each(cases)('%s', async (_name, password, context, expected) => {
    const r = await checkPasswordPolicy(password, context)
    if (expected === 'ok') expect(r).toEqual({ ok: true, password: password.normalize('NFKC') })
    else expect(r).toMatchObject({ ok: false, reason: expected })
  })

  test('the blocklist holds at least the 10 000 most common passwords, loaded once', async () => {
    const first = await loadPasswordBlocklist()
    expect(first.size).toBeGreaterThanOrEqual(10_000)
    expect(await loadPasswordBlocklist()).toBe(first)
    for (const p of ['123456', 'qwerty', 'dragon', 'letmein', 'trustno1']) expect(first.has(p)).toBe(true)
  })

  test('the normalised password is what is returned (to be hashed)', async () => {
    const composed = await checkPasswordPolicy(`caf${E_ACUTE} au lait tous les jours`)
    expect(composed).toEqual({ ok: true, password: 'café au lait tous les jours' })
  })
})
