import { IdpSignInError } from '@latchkey/expo'
import { useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { Platform, View } from 'react-native'
import { describeError } from './api-errors'
import { fetchProviders, startWebSignIn, type Provider } from './idp'
import { nativeSignIn } from './idp-native'
import { Button, Message } from './ui'

const LABELS: Record<string, string> = { apple: 'Sign in with Apple', google: 'Sign in with Google' }

/**
 * "Sign in with Apple" and "Sign in with Google" when the server accepts them (GET /auth/providers):
 * Google everywhere; Apple on iOS and the web (App Review 4.8: offering Google sign-in on iOS means
 * offering Sign in with Apple too), and on Android only against a stand-in. The web runs the code
 * flow itself (idp.ts); iOS and Android use the native modules (idp-native.ts).
 */
export function IdpButtons() {
  const providers = useQuery({ queryKey: ['idp-providers'], queryFn: fetchProviders, staleTime: 300_000 })
  const [failure, setFailure] = useState<string | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const shown = (providers.data ?? []).filter((p) => p.name in LABELS && (p.name !== 'apple' || Platform.OS !== 'android' || !p.issuer.startsWith('https://appleid.apple.com')))
  if (shown.length === 0) return null

  async function start(p: Provider) {
    setFailure(null)
    setBusy(p.name)
    try {
      if (Platform.OS === 'web') return await startWebSignIn(p) // leaves the page
      const result = await nativeSignIn(p)
      if (result.status === 'cancelled') setBusy(null)
    } catch (err) {
      setFailure(err instanceof IdpSignInError ? err.message : describeError(err))
      setBusy(null)
    }
  }

  return (
    <View style={{ gap: 8 }}>
      {shown.map((p) => (
        <Button key={p.name} testID={`idp-${p.name}`} kind="secondary" title={LABELS[p.name]!} busy={busy === p.name} onPress={() => void start(p)} />
      ))}
      {failure ? <Message kind="error">{failure}</Message> : null}
    </View>
  )
}
