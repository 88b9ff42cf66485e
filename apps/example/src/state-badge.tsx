import type { SessionStatus } from '@latchkey/core'
import { Text } from 'react-native'
import { colors } from './ui'

const LABELS: Record<SessionStatus, { text: string; color: string }> = {
  signedIn: { text: 'Signed in', color: colors.ok },
  refreshing: { text: 'Refreshing…', color: colors.accent },
  offline: { text: 'Offline: still signed in', color: colors.warn },
  locked: { text: 'Locked', color: colors.muted },
  signedOut: { text: 'Signed out', color: colors.muted },
}

export function StateBadge({ status }: { status: SessionStatus }) {
  const { text, color } = LABELS[status]
  return (
    <Text testID="state-badge" accessibilityLabel={`Session state: ${text}`} style={{ alignSelf: 'flex-start', color: '#fff', backgroundColor: color, borderRadius: 999, paddingHorizontal: 10, paddingVertical: 4, fontSize: 13, fontWeight: '600', overflow: 'hidden' }}>
      {text}
    </Text>
  )
}
