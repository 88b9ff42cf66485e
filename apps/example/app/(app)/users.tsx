import { useInfiniteQuery } from '@tanstack/react-query'
import { Text, View } from 'react-native'
import { describeError } from '../../src/api-errors'
import { listUsers } from '../../src/api'
import { Button, Message, Screen, Title, colors } from '../../src/ui'

/** /users: users and their roles, for admins (not /admin: that path is the server API's) (the route is behind `Stack.Protected guard={hasRole('admin')}`; the server checks too). */
export default function Admin() {
  const users = useInfiniteQuery({
    queryKey: ['admin-users'],
    queryFn: ({ pageParam }) => listUsers(pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
  })
  const rows = users.data?.pages.flatMap((p) => p.users) ?? []
  return (
    <Screen>
      <Title>Users</Title>
      {users.error ? <Message kind="error">{describeError(users.error)}</Message> : null}
      {rows.map((u) => (
        <View key={u.id} testID="user-row" style={{ borderBottomWidth: 1, borderColor: '#e5e7eb', paddingVertical: 8, gap: 4 }}>
          <Text style={{ fontSize: 16, fontWeight: '600', color: colors.text }}>{u.email}</Text>
          <Text style={{ color: colors.muted }}>
            {u.roles.length > 0 ? u.roles.join(', ') : 'no roles'} · since {new Date(u.createdAt).toLocaleDateString()}
          </Text>
        </View>
      ))}
      {users.isPending ? <Message kind="info">Loading users…</Message> : null}
      {users.hasNextPage ? <Button testID="more-users" kind="secondary" title="More" busy={users.isFetchingNextPage} onPress={() => void users.fetchNextPage()} /> : null}
    </Screen>
  )
}
