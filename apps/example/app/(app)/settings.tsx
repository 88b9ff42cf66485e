import { useSession } from '@latchkey/expo'
import { Link } from 'expo-router'
import { useEffect, useState } from 'react'
import { Platform, Switch, Text, View } from 'react-native'
import { Button, Screen, Title, colors } from '../../src/ui'
import { biometricsAvailable, biometricLockEnabled, lockEnforcedByOS, setBiometricLock } from '../../src/biometric-setting'

export default function Settings() {
  const { signOut } = useSession()
  const [busy, setBusy] = useState(false)
  const [available, setAvailable] = useState(false)
  const [locked, setLocked] = useState(false)

  useEffect(() => {
    let live = true
    void biometricsAvailable().then((ok) => live && setAvailable(ok))
    void biometricLockEnabled().then((on) => live && setLocked(on))
    return () => {
      live = false
    }
  }, [])

  return (
    <Screen>
      <Title>Settings</Title>
      {available && Platform.OS !== 'web' ? (
        <View style={{ flexDirection: 'row', alignItems: 'center', justifyContent: 'space-between' }}>
          <Text style={{ fontSize: 16, color: colors.text }}>Require Face ID / fingerprint</Text>
          {/* Where the OS enforces the lock, the secure store refuses the session without the prompt: no switch can turn it off. */}
          <Switch disabled={lockEnforcedByOS} value={locked} onValueChange={(on) => void setBiometricLock(on).then(() => setLocked(on))} />
        </View>
      ) : null}
      <View style={{ gap: 8 }}>
        <Link testID="change-password-link" href="/change-password" style={{ color: colors.accent, fontSize: 16 }}>Change password</Link>
        <Link testID="delete-account-link" href="/delete-account" style={{ color: colors.danger, fontSize: 16 }}>Delete account</Link>
      </View>
      <Button
        testID="sign-out"
        kind="danger"
        title="Sign out"
        busy={busy}
        onPress={() => {
          setBusy(true)
          void signOut({ reason: 'user' }).finally(() => setBusy(false))
        }}
      />
    </Screen>
  )
}
