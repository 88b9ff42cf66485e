import { useSession } from '@latchkey/expo'
import { Stack } from 'expo-router'

export default function AppLayout() {
  // The role comes from the access token's claim (decoded, not verified): it only decides what is
  // shown. The server checks the caller's current roles on /admin/users itself.
  const { hasRole } = useSession()
  return (
    <Stack>
      <Stack.Screen name="index" options={{ title: 'Home' }} />
      <Stack.Screen name="sessions" options={{ title: 'Devices' }} />
      <Stack.Screen name="settings" options={{ title: 'Settings' }} />
      <Stack.Screen name="change-password" options={{ title: 'Change password' }} />
      <Stack.Screen name="delete-account" options={{ title: 'Delete account' }} />
      <Stack.Protected guard={hasRole('admin')}>
        <Stack.Screen name="users" options={{ title: 'Users' }} />
      </Stack.Protected>
    </Stack>
  )
}
