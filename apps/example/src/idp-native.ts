import { authRequestInit, signInWithApple, signInWithIdProvider, type IdpSignInResult } from '@latchkey/expo'
import * as AppleAuthentication from 'expo-apple-authentication'
import * as AuthSession from 'expo-auth-session'
import { CryptoDigestAlgorithm, digestStringAsync, getRandomValues } from 'expo-crypto'
import * as WebBrowser from 'expo-web-browser'
import { Platform } from 'react-native'
import { apiUrl } from './config'
import type { Provider } from './idp'
import { session } from './session'

WebBrowser.maybeCompleteAuthSession()

export const APPLE_ISSUER = 'https://appleid.apple.com'

const sha256Hex = (s: string) => digestStringAsync(CryptoDigestAlgorithm.SHA256, s)
const common = () => ({ session, baseUrl: apiUrl, requestInit: authRequestInit, sha256Hex, getRandomValues: (b: Uint8Array) => getRandomValues(b) })

/**
 * This platform's client id at the provider: EXPO_PUBLIC_GOOGLE_CLIENT_ID / EXPO_PUBLIC_APPLE_CLIENT_ID
 * (Google issues one per platform), else the server's `-native` one (npm start's stand-ins), else its first.
 */
function clientId(p: Provider): string {
  const configured = p.name === 'google' ? process.env.EXPO_PUBLIC_GOOGLE_CLIENT_ID : p.name === 'apple' ? process.env.EXPO_PUBLIC_APPLE_CLIENT_ID : undefined
  return configured ?? p.client_ids.find((id) => id.endsWith('-native')) ?? p.client_ids[0]!
}

/** Whether the native Apple sheet applies: iOS, and the server trusts Apple itself (not a stand-in). */
export async function nativeAppleAvailable(p: Provider): Promise<boolean> {
  return Platform.OS === 'ios' && p.issuer === APPLE_ISSUER && (await AppleAuthentication.isAvailableAsync())
}

/**
 * iOS and Android. Real Apple on iOS: the system sheet (expo-apple-authentication), its ID token and
 * authorization code to our server. Any other provider (Google, or a stand-in): the authorization
 * code flow with PKCE in the system browser (expo-auth-session), back through the app's scheme
 * latchkey-example://idp-callback (a development build; Expo Go's exp:// is not registered), then
 * the ID token to our server with the raw nonce.
 */
export async function nativeSignIn(p: Provider): Promise<IdpSignInResult> {
  if (await nativeAppleAvailable(p)) return signInWithApple({ ...common(), apple: AppleAuthentication })
  return signInWithIdProvider({
    ...common(),
    getIdToken: async (rawNonce) => {
      const discovery = await AuthSession.fetchDiscoveryAsync(p.issuer)
      const id = clientId(p)
      const redirectUri = AuthSession.makeRedirectUri({ scheme: 'latchkey-example', path: 'idp-callback' })
      const request = new AuthSession.AuthRequest({
        clientId: id,
        redirectUri,
        scopes: ['openid', 'email'],
        responseType: AuthSession.ResponseType.Code,
        usePKCE: true,
        extraParams: { nonce: p.nonce === 'sha256' ? await sha256Hex(rawNonce) : rawNonce },
      })
      const result = await request.promptAsync(discovery)
      if (result.type !== 'success') return null // cancelled or dismissed
      const tokens = await AuthSession.exchangeCodeAsync({ clientId: id, code: result.params.code!, redirectUri, extraParams: { code_verifier: request.codeVerifier! } }, discovery)
      return tokens.idToken ?? null
    },
  })
}
