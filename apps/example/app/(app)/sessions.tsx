import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Text, View } from 'react-native'
import { describeError } from '../../src/api-errors'
import { listSessions, revokeSession, signOutOthers } from '../../src/api'
import { Button, Message, Screen, Title, colors } from '../../src/ui'

export default function Sessions() {
  const queryClient = useQueryClient()
  const sessions = useQuery({ queryKey: ['sessions'], queryFn: listSessions })
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['sessions'] })
  const revoke = useMutation({ mutationFn: revokeSession, onSettled: refresh })
  const others = useMutation({ mutationFn: signOutOthers, onSettled: refresh })
  const failure = sessions.error ?? revoke.error ?? others.error
  return (
    <Screen>
      <Title>Devices</Title>
      {failure ? <Message kind="error">{describeError(failure)}</Message> : null}
      {sessions.data?.map((s) => (
        <View key={s.id} testID="session-row" style={{ borderBottomWidth: 1, borderColor: '#e5e7eb', paddingVertical: 8, gap: 4 }}>
          <Text style={{ fontSize: 16, fontWeight: '600', color: colors.text }}>
            {s.device ?? 'Unknown device'}
            {s.current ? ' (this device)' : ''}
          </Text>
          <Text style={{ color: colors.muted }}>
            Signed in {new Date(s.createdAt).toLocaleString()} · last used {new Date(s.lastUsedAt).toLocaleString()}
          </Text>
          {s.bound === undefined ? null : (
            <Text testID={`binding-${s.id}`} style={{ color: colors.muted }}>
              {s.bound ? 'Bound to the device’s key (DPoP): its tokens are useless elsewhere' : 'Bearer tokens (not bound to a device key)'}
            </Text>
          )}
          {s.current ? null : (
            <Button testID={`revoke-${s.id}`} kind="secondary" title="Sign out this device" busy={revoke.isPending && revoke.variables === s.id} onPress={() => revoke.mutate(s.id)} />
          )}
        </View>
      ))}
      {sessions.isPending ? <Message kind="info">Loading devices…</Message> : null}
      <Button testID="sign-out-others" kind="danger" title="Sign out all other devices" busy={others.isPending} onPress={() => others.mutate()} />
    </Screen>
  )
}
