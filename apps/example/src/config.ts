import { Platform } from 'react-native'

// On the web the app is served by the Latchkey server itself, so the API is the same origin.
// On a device, point EXPO_PUBLIC_API_URL at the server on your LAN (see the README); the older
// name EXPO_PUBLIC_LATCHKEY_URL is still read.
export const apiUrl: string =
  Platform.OS === 'web' && typeof window !== 'undefined'
    ? window.location.origin
    : (process.env.EXPO_PUBLIC_API_URL ?? process.env.EXPO_PUBLIC_LATCHKEY_URL ?? 'http://127.0.0.1:8787')
