import { useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { Platform, View } from 'react-native'
import { describeError } from './api-errors'
import { fetchProviders, startWebSignIn, type Provider } from './idp'
import { Button, Message } from './ui'

const LABELS: Record<string, string> = { apple: 'Sign in with Apple', google: 'Sign in with Google' }

/**
 * "Sign in with Apple" and "Sign in with Google" when the server accepts them (GET /auth/providers).
 * Both on the web (here against `npm start`'s development stand-ins); on iOS and Android the app
 * would call `signInWithApple` / `signInWithIdProvider` with the native modules (App Review 4.8:
 * offering Google sign-in on iOS means offering Sign in with Apple too).
 */
export function IdpButtons() {
  const providers = useQuery({ queryKey: ['idp-providers'], queryFn: fetchProviders, staleTime: 300_000 })
  const [failure, setFailure] = useState<string | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  if (Platform.OS !== 'web') return null
  const shown = (providers.data ?? []).filter((p) => p.name in LABELS)
  if (shown.length === 0) return null

  async function start(p: Provider) {
    setFailure(null)
    setBusy(p.name)
    try {
      await startWebSignIn(p)
    } catch (err) {
      setFailure(describeError(err))
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
