import { useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { Text, View } from 'react-native'
import { describeError } from './api-errors'
import { email as emailApi } from './api'
import { DevMailHint } from './dev-mail-hint'
import { Button, Field, Message, colors } from './ui'

/**
 * Shown on the home screen until the account's address is confirmed (`email_verified` of /me):
 * a code was sent at sign-up; "Send code" asks for a new one. Once confirmed, /me is read again and
 * the banner goes.
 */
export function VerifyEmailBanner() {
  const queryClient = useQueryClient()
  const [code, setCode] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [info, setInfo] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function send() {
    setError(undefined)
    try {
      const { alreadyVerified } = await emailApi.requestEmailVerification()
      if (alreadyVerified) await queryClient.invalidateQueries({ queryKey: ['me'] })
      else setInfo('A new code is on its way to your address.')
    } catch (err) {
      setError(describeError(err))
    }
  }

  async function verify() {
    setError(undefined)
    setBusy(true)
    try {
      await emailApi.verifyEmail({ code: code.replace(/[\s-]/g, '') })
      await queryClient.invalidateQueries({ queryKey: ['me'] })
    } catch (err) {
      setError(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <View testID="verify-banner" style={{ gap: 8, padding: 12, borderRadius: 8, borderWidth: 1, borderColor: colors.warn, backgroundColor: colors.card }}>
      <Text style={{ fontSize: 16, fontWeight: '600', color: colors.warn }}>Confirm your email address</Text>
      <Text style={{ color: colors.text }}>We sent you a code when you signed up. Enter it to confirm that the address is yours.</Text>
      <DevMailHint />
      <Field label="Code" testID="banner-code" value={code} onChangeText={setCode} autoComplete="one-time-code" inputMode="numeric" error={error} onSubmitEditing={verify} />
      {info ? <Message kind="info">{info}</Message> : null}
      <View style={{ flexDirection: 'row', gap: 8 }}>
        <Button testID="banner-verify" title="Confirm" busy={busy} onPress={() => void verify()} />
        <Button testID="banner-send" title="Send code" kind="secondary" onPress={() => void send()} />
      </View>
    </View>
  )
}
