import { AccountError } from '@latchkey/core'
import { useState } from 'react'
import { Switch, Text, View } from 'react-native'
import { describeError } from '../../src/api-errors'
import { account } from '../../src/api'
import { MIN_PASSWORD } from '../../src/auth-form'
import { Button, Field, Message, Screen, Title, colors } from '../../src/ui'

/**
 * Change the password: the current one as proof, the new one checked by the server's password
 * policy (its refusal names the rule, shown in plain words). The other devices are signed out by
 * default (OWASP ASVS 5.0 V7.4.3: after a password change, offer to end the other sessions).
 */
export default function ChangePassword() {
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [signOutOthers, setSignOutOthers] = useState(true)
  const [errors, setErrors] = useState<{ current?: string; next?: string }>({})
  const [failure, setFailure] = useState<string | null>(null)
  const [done, setDone] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function submit() {
    const found: { current?: string; next?: string } = {}
    if (current.length === 0) found.current = 'Enter your current password.'
    if (next.length < MIN_PASSWORD) found.next = `Use at least ${MIN_PASSWORD} characters.`
    else if (next === current) found.next = 'The new password is the same as the current one.'
    setErrors(found)
    setFailure(null)
    setDone(null)
    if (found.current || found.next) return
    setBusy(true)
    try {
      const { signedOut } = await account.changePassword({ currentPassword: current, newPassword: next, endSessions: signOutOthers ? 'others' : 'none' })
      setCurrent('')
      setNext('')
      setDone(
        signOutOthers
          ? `Your password has been changed. ${signedOut === 0 ? 'No other device was signed in.' : `${signedOut} other device${signedOut === 1 ? ' was' : 's were'} signed out.`}`
          : 'Your password has been changed. Your other devices stay signed in.',
      )
    } catch (err) {
      if (err instanceof AccountError && err.reason === 'wrong_password') setErrors({ current: 'Your current password is not right.' })
      else if (err instanceof AccountError && err.reason.startsWith('password_')) setErrors({ next: describeError(err) })
      else setFailure(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <Screen>
      <Title>Change password</Title>
      <Field label="Current password" testID="current-password" value={current} onChangeText={setCurrent} secureTextEntry autoComplete="current-password" error={errors.current} />
      <Field label="New password" testID="new-password" value={next} onChangeText={setNext} secureTextEntry autoComplete="new-password" error={errors.next} onSubmitEditing={submit} />
      <View style={{ flexDirection: 'row', alignItems: 'center', justifyContent: 'space-between', gap: 12 }}>
        <Text style={{ flex: 1, fontSize: 16, color: colors.text }}>Sign out my other devices</Text>
        <Switch testID="sign-out-others" aria-label="Sign out my other devices" value={signOutOthers} onValueChange={setSignOutOthers} />
      </View>
      {failure ? <Message kind="error">{failure}</Message> : null}
      {done ? <Message kind="info">{done}</Message> : null}
      <Button testID="change-password" title="Change password" busy={busy} onPress={submit} />
    </Screen>
  )
}
