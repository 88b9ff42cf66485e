import { IdpSignInError } from '@latchkey/expo'
import { router } from 'expo-router'
import { useEffect, useRef, useState } from 'react'
import { ActivityIndicator } from 'react-native'
import { completeWebSignIn } from '../src/idp'
import { Button, Message, Screen, Title } from '../src/ui'

const WORDS: Record<string, string> = {
  account_exists_sign_in_to_link: 'An account with this email already exists. Sign in with its password, then link this sign-in method from the account.',
  email_not_verified: 'The provider has not confirmed this email address, so no account can be made with it.',
}

/** Where the provider sends the browser back (web): finishes the sign-in; the guard then shows the app. */
export default function IdpCallback() {
  const [failure, setFailure] = useState<string | null>(null)
  const ran = useRef(false)
  useEffect(() => {
    if (ran.current) return
    ran.current = true
    completeWebSignIn(new URLSearchParams(window.location.search)).catch((err: unknown) => {
      setFailure(err instanceof IdpSignInError ? (WORDS[err.code] ?? err.message) : 'Sign-in failed. Please try again.')
    })
  }, [])
  return (
    <Screen>
      <Title>Signing in…</Title>
      {failure ? (
        <>
          <Message kind="error">{failure}</Message>
          <Button testID="back-to-sign-in" title="Back to sign-in" onPress={() => router.replace('/sign-in')} />
        </>
      ) : (
        <ActivityIndicator />
      )}
    </Screen>
  )
}
