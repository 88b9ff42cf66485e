// Bundled for the Chromium test: one session client per tab, in cookie mode.
import { createSessionClient, silentLogger, type SessionClient } from '@latchkey/core'
import { cookieDelivery, webSessionOptions } from '../web/web-mode.js'

declare global {
  interface Window {
    lk: {
      client: SessionClient
      signIn(): Promise<void>
      needs(count: number): Promise<number[]>
      tokens(count: number): Promise<string[]>
      stored(): string
    }
  }
}

const client = createSessionClient({
  ...webSessionOptions({ tokenEndpoint: '/oauth/token', revocationEndpoint: '/oauth/revoke' }),
  logger: silentLogger,
})

window.lk = {
  client,
  async signIn() {
    const response = await fetch('/auth/sign-in', cookieDelivery({ method: 'POST', body: '{"email":"a@example.com"}' }))
    await client.signIn(await response.json())
  },
  /** `count` API calls at once; each gets 401 for a stale token and is replayed once. */
  needs: (count) => Promise.all(Array.from({ length: count }, () => client.fetch('/api/me').then((r) => r.status))),
  tokens: (count) => Promise.all(Array.from({ length: count }, () => client.getAccessToken().then((t) => t ?? 'null'))),
  stored: () => JSON.stringify({ ...localStorage }),
}
void client.start()
