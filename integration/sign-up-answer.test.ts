// @latchkey/core's completeSignUp against the real server (issue 13): a server that requires a
// verified address answers sign-up 202 without tokens; the client stores nothing, the code comes
// over real SMTP, verifyEmail({email, code}) confirms it, and sign-in then works. A server without
// the setting signs the new account in at once.
import { AccountError, completeSignUp, createEmailApi, createForegroundManager, createOnlineManager, createSessionClient, memoryStorage, oauth2Refresh, silentLogger, type SessionClient } from '@latchkey/core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { testBackends } from '../packages/server/src/test-support/databases.js'
import { PASSWORD, postJson, serverForSuite, uniqueEmail } from '../packages/server/src/test-support/server.js'
import { TestSmtp, codeOf } from '../packages/server/src/test-support/smtp.js'

function newClient(base: string): { client: SessionClient; storage: ReturnType<typeof memoryStorage> } {
  const storage = memoryStorage()
  const client = createSessionClient({
    refresh: oauth2Refresh({ tokenEndpoint: `${base}/oauth/token` }),
    storage,
    logger: silentLogger,
    foreground: createForegroundManager({ web: false }),
    online: createOnlineManager({ web: false }),
  })
  return { client, storage }
}

const signUpRequest = (base: string, email: string, password = PASSWORD) => postJson(base, '/auth/sign-up', { email, password, device: 'test' })

describe.each(testBackends())('completeSignUp against the server on $name', (backend) => {
  const smtp = new TestSmtp()
  beforeAll(() => smtp.start())
  afterAll(() => smtp.stop())
  const verified = serverForSuite(backend, {
    get smtpUrl() {
      return smtp.url
    },
    mailFrom: 'Latchkey Test <no-reply@example.test>',
    requireEmailVerification: true,
    rateLimit: { perIp: { max: 10_000, windowSeconds: 900 } },
  })
  const open = serverForSuite(backend, { rateLimit: false })

  test('verification required: nothing stored, the same result for a taken address; code → verifyEmail → sign-in', async () => {
    const base = verified.server.url
    const email = uniqueEmail('verify')
    const { client, storage } = newClient(base)
    expect(await completeSignUp(client, await signUpRequest(base, email))).toMatchObject({ status: 'verification_required' })
    expect(client.getState().status).toBe('signedOut')
    expect(await storage.getItem('latchkey.session')).toBeNull()
    // A second sign-up of the same address cannot tell that it is taken.
    expect(await completeSignUp(client, await signUpRequest(base, email, 'another long passphrase 9'))).toMatchObject({ status: 'verification_required' })
    const code = codeOf(await smtp.waitFor(email, 1))
    const emailApi = createEmailApi({ baseUrl: base })
    await expect(emailApi.verifyEmail({ email, code: code === '00000000' ? '00000001' : '00000000' })).rejects.toMatchObject({ reason: 'invalid_code' })
    await emailApi.verifyEmail({ email, code })
    const signIn = await postJson(base, '/auth/sign-in', { email, password: PASSWORD })
    expect(signIn.status).toBe(200)
    await client.signIn(await signIn.json())
    expect(client.getState().status).toBe('signedIn')
    client.stop()
  })

  test('without the setting the account is signed in at once; a refusal is a typed AccountError and stores nothing', async () => {
    const base = open.server.url
    const { client, storage } = newClient(base)
    const weak = await completeSignUp(client, await signUpRequest(base, uniqueEmail('weak'), 'password123')).catch((e: unknown) => e)
    expect(weak).toBeInstanceOf(AccountError)
    expect(weak).toMatchObject({ reason: 'password_common' })
    expect(await storage.getItem('latchkey.session')).toBeNull()
    expect(await completeSignUp(client, await signUpRequest(base, uniqueEmail('open')))).toEqual({ status: 'signed_in' })
    expect(client.getState().status).toBe('signedIn')
    expect(await client.getAccessToken()).toEqual(expect.any(String))
    client.stop()
  })
})
