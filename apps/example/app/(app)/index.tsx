import { useSession } from '@latchkey/expo'
import { useQuery } from '@tanstack/react-query'
import { Link } from 'expo-router'
import { Text, View } from 'react-native'
import { describeError } from '../../src/api-errors'
import { fetchMe } from '../../src/api'
import { StateBadge } from '../../src/state-badge'
import { Message, Screen, Title, colors } from '../../src/ui'
import { VerifyEmailBanner } from '../../src/verify-banner'

export default function Home() {
  const { status, hasRole } = useSession()
  const me = useQuery({ queryKey: ['me'], queryFn: fetchMe })
  return (
    <Screen>
      <StateBadge status={status} />
      <Title>Welcome</Title>
      {me.data ? (
        <Text testID="me-email" style={{ fontSize: 16, color: colors.text }}>
          Signed in as {me.data.email}
        </Text>
      ) : me.error ? (
        <Message kind="error">{describeError(me.error)}</Message>
      ) : (
        <Message kind="info">Loading your account…</Message>
      )}
      {me.data?.email_verified === false ? <VerifyEmailBanner /> : null}
      {me.data?.email_verified ? <Text testID="email-verified" style={{ color: colors.ok }}>Email address confirmed</Text> : null}
      <View style={{ gap: 8, marginTop: 8 }}>
        <Link href="/sessions" style={{ color: colors.accent, fontSize: 16 }}>Devices signed in</Link>
        <Link href="/settings" style={{ color: colors.accent, fontSize: 16 }}>Settings</Link>
        {hasRole('admin') ? (
          <Link testID="admin-link" href="/users" style={{ color: colors.accent, fontSize: 16 }}>Users (admin)</Link>
        ) : null}
      </View>
    </Screen>
  )
}
