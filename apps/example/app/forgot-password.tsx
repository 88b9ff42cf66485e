import { AccountError } from '@latchkey/core'
import { router, useLocalSearchParams } from 'expo-router'
import { useState } from 'react'
import { Text } from 'react-native'
import { describeError } from '../src/api-errors'
import { email as emailApi } from '../src/api'
import { MIN_PASSWORD } from '../src/auth-form'
import { DevMailHint } from '../src/dev-mail-hint'
import { Button, Field, Message, Screen, Title, colors } from '../src/ui'

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/**
 * Forgot password → a code by email → the code and a new password (issue 13). The server answers
 * the request alike whether or not the address has an account, and so does this screen. A completed
 * reset ends every session of the account: the user signs in with the new password.
 */
export default function ForgotPassword() {
  const params = useLocalSearchParams<{ email?: string }>()
  const [address, setAddress] = useState(params.email ?? '')
  const [step, setStep] = useState<'request' | 'reset' | 'done'>('request')
  const [code, setCode] = useState('')
  const [password, setPassword] = useState('')
  const [errors, setErrors] = useState<{ email?: string; code?: string; password?: string }>({})
  const [failure, setFailure] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function run(action: () => Promise<void>) {
    setFailure(null)
    setBusy(true)
    try {
      await action()
    } catch (err) {
      if (err instanceof AccountError && err.reason === 'invalid_code') setErrors({ code: describeError(err) })
      else if (err instanceof AccountError && err.reason.startsWith('password_')) setErrors({ password: describeError(err) })
      else setFailure(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  function request() {
    if (!EMAIL.test(address.trim())) return setErrors({ email: 'Enter a valid email address.' })
    setErrors({})
    void run(async () => {
      await emailApi.requestPasswordReset({ email: address.trim() })
      setStep('reset')
    })
  }

  function reset() {
    const found: { code?: string; password?: string } = {}
    if (!/^\d{8}$/.test(code.replace(/[\s-]/g, ''))) found.code = 'Enter the 8-digit code from the message.'
    if (password.length < MIN_PASSWORD) found.password = `Use at least ${MIN_PASSWORD} characters.`
    setErrors(found)
    if (found.code || found.password) return
    void run(async () => {
      await emailApi.resetPassword({ email: address.trim(), code: code.replace(/[\s-]/g, ''), newPassword: password })
      setStep('done')
    })
  }

  return (
    <Screen>
      <Title>Reset your password</Title>
      {step === 'request' ? (
        <>
          <Text style={{ color: colors.muted }}>Enter the email address of your account. We will send it a code.</Text>
          <Field label="Email" testID="reset-email" value={address} onChangeText={setAddress} autoCapitalize="none" autoComplete="email" keyboardType="email-address" inputMode="email" error={errors.email} onSubmitEditing={request} />
          {failure ? <Message kind="error">{failure}</Message> : null}
          <Button testID="send-reset-code" title="Send code" busy={busy} onPress={request} />
        </>
      ) : null}
      {step === 'reset' ? (
        <>
          <Message kind="info">If an account has the address {address.trim()}, a code is on its way. It works for a few minutes.</Message>
          <DevMailHint />
          <Field label="Code" testID="reset-code" value={code} onChangeText={setCode} autoComplete="one-time-code" inputMode="numeric" error={errors.code} />
          <Field label="New password" testID="reset-password" value={password} onChangeText={setPassword} secureTextEntry autoComplete="new-password" error={errors.password} onSubmitEditing={reset} />
          {failure ? <Message kind="error">{failure}</Message> : null}
          <Button testID="reset-submit" title="Set the new password" busy={busy} onPress={reset} />
          <Button title="Send another code" kind="secondary" onPress={() => setStep('request')} />
        </>
      ) : null}
      {step === 'done' ? (
        <>
          <Message kind="info">Your password has been reset, and every device was signed out. Sign in with the new password.</Message>
          {/* Back to the sign-in screen below in the stack (replaces this one when there is none). */}
          <Button testID="back-to-sign-in" title="Sign in" onPress={() => router.dismissTo('/sign-in')} />
        </>
      ) : null}
    </Screen>
  )
}
