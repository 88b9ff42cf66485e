import { AccountError } from '@latchkey/core'
import { useState } from 'react'
import { Text } from 'react-native'
import { describeError } from '../../src/api-errors'
import { account } from '../../src/api'
import { Button, Field, Message, Screen, Title, colors } from '../../src/ui'

/**
 * Delete the account (App Store Review Guideline 5.1.1(v), Google Play's account-deletion
 * policy), in two steps: say what will happen, then the password again as a fresh proof of
 * ownership and an explicit confirmation. On success `account.deleteAccount` signs out locally
 * (reason `account_deleted`), so the guard shows the sign-in screen with its message.
 */
export default function DeleteAccount() {
  const [confirming, setConfirming] = useState(false)
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const [failure, setFailure] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  function cancel() {
    setConfirming(false)
    setPassword('')
    setError(undefined)
    setFailure(null)
  }

  async function confirm() {
    setFailure(null)
    if (password.length === 0) return setError('Enter your password to confirm.')
    setError(undefined)
    setBusy(true)
    try {
      await account.deleteAccount({ password })
      // Signed out: this screen goes away with the signed-in routes.
    } catch (err) {
      if (err instanceof AccountError && err.reason === 'wrong_password') setError('That password is not right.')
      else setFailure(describeError(err))
      setBusy(false)
    }
  }

  return (
    <Screen>
      <Title>Delete account</Title>
      <Text style={{ fontSize: 16, color: colors.text }}>
        Deleting your account removes it and your personal data for good, and signs out every device signed in to it. This cannot be undone.
      </Text>
      {confirming ? (
        <>
          <Field label="Password" testID="delete-password" value={password} onChangeText={setPassword} secureTextEntry autoComplete="current-password" error={error} />
          {failure ? <Message kind="error">{failure}</Message> : null}
          <Button testID="confirm-delete" kind="danger" title="Delete my account permanently" busy={busy} onPress={confirm} />
          {busy ? null : <Button testID="cancel-delete" kind="secondary" title="Cancel" onPress={cancel} />}
        </>
      ) : (
        <Button testID="start-delete" kind="danger" title="Delete my account…" onPress={() => setConfirming(true)} />
      )}
    </Screen>
  )
}
