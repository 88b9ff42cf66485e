import { useSession } from '@latchkey/expo'
import { Link, router } from 'expo-router'
import { useState } from 'react'
import { Platform, Text } from 'react-native'
import { describeError } from './api-errors'
import { signIn, signUp } from './api'
import { IdpButtons } from './idp-buttons'
import { Button, Field, Message, Screen, Title, colors } from './ui'

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
export const MIN_PASSWORD = 8

const ENDED: Record<string, string> = {
  refresh_rejected: 'Your session ended: it was signed out from another device or expired. Please sign in again.',
  credential_invalidated: 'Your saved sign-in can no longer be read on this device (for example, biometrics changed). Please sign in again.',
  storage_corrupt: 'Your saved sign-in could not be read. Please sign in again.',
  account_deleted: 'Your account has been deleted, and every device signed in to it has been signed out.',
  password_changed: 'Your password was changed and this device was signed out. Sign in with the new password.',
}

function deviceName(): string {
  if (Platform.OS === 'web' && typeof navigator !== 'undefined') {
    const ua = navigator.userAgent
    const browser = /Edg\//.test(ua) ? 'Edge' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Firefox\//.test(ua) ? 'Firefox' : /Safari\//.test(ua) ? 'Safari' : 'Browser'
    return `${browser} on the web`
  }
  return `${Platform.OS === 'ios' ? 'iOS' : 'Android'} ${String(Platform.Version)}`
}

export function AuthForm({ mode }: { mode: 'sign-in' | 'sign-up' }) {
  const { state } = useSession()
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [errors, setErrors] = useState<{ email?: string; password?: string }>({})
  const [failure, setFailure] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function submit() {
    const next: { email?: string; password?: string } = {}
    if (!EMAIL.test(email.trim())) next.email = 'Enter a valid email address.'
    if (mode === 'sign-up' && password.length < MIN_PASSWORD) next.password = `Use at least ${MIN_PASSWORD} characters.`
    if (mode === 'sign-in' && password.length === 0) next.password = 'Enter your password.'
    setErrors(next)
    setFailure(null)
    if (next.email || next.password) return
    setBusy(true)
    try {
      if (mode === 'sign-in') await signIn(email.trim(), password, deviceName())
      else {
        const result = await signUp(email.trim(), password, deviceName())
        // A server that requires a verified address first: the code is on its way.
        if (result.status === 'verification_required') router.push({ pathname: '/verify-email', params: { email: email.trim() } })
      }
    } catch (err) {
      setFailure(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  const ended = state.reason ? ENDED[state.reason] : undefined
  return (
    <Screen>
      <Title>{mode === 'sign-in' ? 'Sign in' : 'Create an account'}</Title>
      {ended ? <Message kind="info">{ended}</Message> : null}
      <Field label="Email" testID="email" value={email} onChangeText={setEmail} autoCapitalize="none" autoComplete="email" keyboardType="email-address" inputMode="email" error={errors.email} />
      <Field label="Password" testID="password" value={password} onChangeText={setPassword} secureTextEntry autoComplete={mode === 'sign-in' ? 'current-password' : 'new-password'} error={errors.password} onSubmitEditing={submit} />
      {failure ? <Message kind="error">{failure}</Message> : null}
      <Button testID="submit" title={mode === 'sign-in' ? 'Sign in' : 'Sign up'} busy={busy} onPress={submit} />
      <IdpButtons />
      {mode === 'sign-in' ? (
        <Link testID="forgot-password-link" href={{ pathname: '/forgot-password', params: email.trim() ? { email: email.trim() } : {} }} style={{ color: colors.accent }}>
          Forgot your password?
        </Link>
      ) : null}
      <Text style={{ color: colors.muted }}>
        {mode === 'sign-in' ? 'No account yet? ' : 'Already have an account? '}
        <Link href={mode === 'sign-in' ? '/sign-up' : '/sign-in'} style={{ color: colors.accent }}>
          {mode === 'sign-in' ? 'Sign up' : 'Sign in'}
        </Link>
      </Text>
    </Screen>
  )
}
