import { SessionProvider, useQueryClientCleanup, useSessionGuard } from '@latchkey/expo'
import { QueryClientProvider } from '@tanstack/react-query'
import { Stack } from 'expo-router'
import { useEffect } from 'react'
import { ActivityIndicator, View } from 'react-native'
import { gate, openSession } from '../src/biometric-setting'
import { queryClient, session } from '../src/session'
import { Button } from '../src/ui'

function Routes() {
  const { status, signedIn } = useSessionGuard()
  useQueryClientCleanup(queryClient)
  useEffect(() => {
    void openSession()
  }, [])
  if (status === 'locked' && gate) {
    const unlock = gate.unlock
    return (
      <View style={{ flex: 1, alignItems: 'center', justifyContent: 'center', padding: 24 }}>
        <Button title="Unlock" onPress={() => void unlock()} />
      </View>
    )
  }
  if (status === 'restoring' || status === 'locked') {
    return (
      <View style={{ flex: 1, alignItems: 'center', justifyContent: 'center' }}>
        <ActivityIndicator />
      </View>
    )
  }
  return (
    <Stack>
      <Stack.Protected guard={signedIn}>
        <Stack.Screen name="(app)" options={{ headerShown: false }} />
      </Stack.Protected>
      <Stack.Protected guard={!signedIn}>
        <Stack.Screen name="sign-in" options={{ title: 'Sign in' }} />
        <Stack.Screen name="sign-up" options={{ title: 'Sign up' }} />
        <Stack.Screen name="idp-callback" options={{ title: 'Signing in' }} />
        <Stack.Screen name="forgot-password" options={{ title: 'Reset your password' }} />
        <Stack.Screen name="verify-email" options={{ title: 'Confirm your email' }} />
      </Stack.Protected>
    </Stack>
  )
}

export default function RootLayout() {
  return (
    <SessionProvider client={session}>
      <QueryClientProvider client={queryClient}>
        <Routes />
      </QueryClientProvider>
    </SessionProvider>
  )
}
