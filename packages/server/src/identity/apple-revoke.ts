import { SignJWT, importPKCS8 } from 'jose'

/**
 * Revokes a Sign in with Apple token (App Store Review Guideline 5.1.1(v): an app that offers
 * account creation must let the user delete the account, and Apple asks apps using Sign in with
 * Apple to revoke the user's tokens then). Apple's "Revoke tokens" REST API:
 * POST https://appleid.apple.com/auth/revoke, application/x-www-form-urlencoded
 * client_id, client_secret, token, token_type_hint (refresh_token | access_token); 200 on success.
 * The client secret is a JWT (Apple, "Creating a client secret"): ES256 with the app's Sign in with
 * Apple key, header `kid` = key id; claims iss = team id, iat, exp (at most 6 months later),
 * aud = "https://appleid.apple.com", sub = the client id (the app's bundle id or services id).
 *
 * For the account-deletion code: `await revokeAppleToken(config, { token, tokenTypeHint })`.
 * No token or key appears in an error message.
 */
export interface AppleRevocationConfig {
  teamId: string
  keyId: string
  /** The .p8 key Apple gave (PKCS #8 PEM, P-256). */
  privateKeyPem: string
  /** The app's bundle id (native) or services id (web): the `client_id` the token was issued to. */
  clientId: string
  /** Default https://appleid.apple.com/auth/revoke; tests point it at a loopback stand-in. */
  endpoint?: string
  /** Default https://appleid.apple.com (the client secret's `aud`). */
  audience?: string
  now?: () => Date
  fetch?: typeof fetch
  timeoutMs?: number
}

export const APPLE_REVOKE_ENDPOINT = 'https://appleid.apple.com/auth/revoke'

export class AppleRevocationError extends Error {
  override name = 'AppleRevocationError'
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message)
  }
}

/** The client secret JWT (5 minutes: one call's worth, well under Apple's 6-month limit). */
export async function appleClientSecret(c: AppleRevocationConfig): Promise<string> {
  const key = await importPKCS8(c.privateKeyPem, 'ES256')
  const iat = Math.floor((c.now?.() ?? new Date()).getTime() / 1000)
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: c.keyId })
    .setIssuer(c.teamId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 300)
    .setAudience(c.audience ?? 'https://appleid.apple.com')
    .setSubject(c.clientId)
    .sign(key)
}

export async function revokeAppleToken(c: AppleRevocationConfig, input: { token: string; tokenTypeHint: 'refresh_token' | 'access_token' }): Promise<void> {
  const body = new URLSearchParams({ client_id: c.clientId, client_secret: await appleClientSecret(c), token: input.token, token_type_hint: input.tokenTypeHint })
  let res: Response
  try {
    res = await (c.fetch ?? fetch)(c.endpoint ?? APPLE_REVOKE_ENDPOINT, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      signal: AbortSignal.timeout(c.timeoutMs ?? 10_000),
    })
  } catch (e) {
    throw new AppleRevocationError(`Apple's revocation endpoint could not be reached (${(e as Error).name})`)
  }
  if (res.status !== 200) {
    // Apple answers 400 {"error":"invalid_client"|"invalid_request"|...}; the code alone is safe to show.
    let code = ''
    try {
      const j = (await res.json()) as { error?: unknown }
      if (typeof j.error === 'string' && /^[a-z_]{1,40}$/.test(j.error)) code = `: ${j.error}`
    } catch {
      // not JSON
    }
    throw new AppleRevocationError(`Apple refused the token revocation (HTTP ${res.status}${code})`, res.status)
  }
  await res.body?.cancel()
}
