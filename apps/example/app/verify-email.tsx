import { router, useLocalSearchParams } from 'expo-router'
import { useState } from 'react'
import { describeError } from '../src/api-errors'
import { email as emailApi } from '../src/api'
import { DevMailHint } from '../src/dev-mail-hint'
import { Button, Field, Message, Screen, Title } from '../src/ui'

/**
 * After a sign-up on a server that requires a verified address (LATCHKEY_REQUIRE_EMAIL_VERIFICATION):
 * the code from the message confirms the address, then the user signs in. Signed in, the banner
 * on the home screen does the same.
 */
export default function VerifyEmail() {
  const params = useLocalSearchParams<{ email?: string }>()
  const [address, setAddress] = useState(params.email ?? '')
  const [code, setCode] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [info, setInfo] = useState<string | null>(null)
  const [done, setDone] = useState(false)
  const [busy, setBusy] = useState(false)

  async function verify() {
    setError(undefined)
    setBusy(true)
    try {
      await emailApi.verifyEmail({ email: address.trim(), code: code.replace(/[\s-]/g, '') })
      setDone(true)
    } catch (err) {
      setError(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  async function resend() {
    setError(undefined)
    try {
      await emailApi.requestEmailVerification({ email: address.trim() })
      setInfo('A new code is on its way.')
    } catch (err) {
      setError(describeError(err))
    }
  }

  if (done) {
    return (
      <Screen>
        <Title>Address confirmed</Title>
        <Message kind="info">Your email address is confirmed. You can sign in now.</Message>
        {/* Back to the sign-in screen below in the stack (replaces this one when there is none). */}
        <Button testID="back-to-sign-in" title="Sign in" onPress={() => router.dismissTo('/sign-in')} />
      </Screen>
    )
  }
  return (
    <Screen>
      <Title>Confirm your email</Title>
      <Message kind="info">We sent a code to {address.trim() || 'your address'}. Enter it here to confirm the address, then sign in.</Message>
      <DevMailHint />
      <Field label="Email" testID="verify-address" value={address} onChangeText={setAddress} autoCapitalize="none" inputMode="email" />
      <Field label="Code" testID="verify-code" value={code} onChangeText={setCode} autoComplete="one-time-code" inputMode="numeric" error={error} onSubmitEditing={verify} />
      {info ? <Message kind="info">{info}</Message> : null}
      <Button testID="verify-submit" title="Confirm" busy={busy} onPress={() => void verify()} />
      <Button title="Send another code" kind="secondary" onPress={() => void resend()} />
    </Screen>
  )
}
