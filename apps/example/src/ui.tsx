import type { ReactNode } from 'react'
import { ActivityIndicator, Pressable, StyleSheet, Text, TextInput, View, type TextInputProps } from 'react-native'

export const colors = { bg: '#f6f7f9', card: '#fff', text: '#111827', muted: '#6b7280', accent: '#2563eb', danger: '#b91c1c', ok: '#15803d', warn: '#b45309' }

export function Screen({ children }: { children: ReactNode }) {
  return (
    <View style={styles.screen}>
      <View style={styles.card}>{children}</View>
    </View>
  )
}

export function Title({ children }: { children: ReactNode }) {
  return <Text style={styles.title}>{children}</Text>
}

export function Field(props: TextInputProps & { label: string; error?: string | undefined }) {
  const { label, error, ...input } = props
  return (
    <View style={styles.field}>
      <Text style={styles.label}>{label}</Text>
      <TextInput style={[styles.input, error ? styles.inputError : null]} placeholderTextColor={colors.muted} {...input} />
      {error ? <Text style={styles.error} role="alert">{error}</Text> : null}
    </View>
  )
}

export function Button(props: { title: string; onPress: () => void; busy?: boolean; kind?: 'primary' | 'secondary' | 'danger'; testID?: string }) {
  const { title, onPress, busy = false, kind = 'primary', testID } = props
  const style = kind === 'primary' ? styles.primary : kind === 'danger' ? styles.danger : styles.secondary
  return (
    <Pressable role="button" aria-label={title} testID={testID} disabled={busy} onPress={onPress} style={[styles.button, style, busy ? styles.busy : null]}>
      {busy ? <ActivityIndicator color={kind === 'secondary' ? colors.accent : '#fff'} /> : <Text style={kind === 'secondary' ? styles.secondaryText : styles.buttonText}>{title}</Text>}
    </Pressable>
  )
}

export function Message({ kind, children }: { kind: 'error' | 'info'; children: ReactNode }) {
  return <Text role={kind === 'error' ? 'alert' : 'status'} style={kind === 'error' ? styles.error : styles.info}>{children}</Text>
}

const styles = StyleSheet.create({
  screen: { flex: 1, backgroundColor: colors.bg, alignItems: 'center', padding: 24 },
  card: { width: '100%', maxWidth: 440, backgroundColor: colors.card, borderRadius: 12, padding: 24, gap: 12 },
  title: { fontSize: 24, fontWeight: '700', color: colors.text, marginBottom: 4 },
  field: { gap: 4 },
  label: { fontSize: 14, color: colors.text, fontWeight: '600' },
  input: { borderWidth: 1, borderColor: '#d1d5db', borderRadius: 8, paddingHorizontal: 12, paddingVertical: 10, fontSize: 16, color: colors.text },
  inputError: { borderColor: colors.danger },
  button: { borderRadius: 8, paddingVertical: 12, alignItems: 'center', justifyContent: 'center', minHeight: 44 },
  primary: { backgroundColor: colors.accent },
  danger: { backgroundColor: colors.danger },
  secondary: { backgroundColor: '#fff', borderWidth: 1, borderColor: colors.accent },
  busy: { opacity: 0.7 },
  buttonText: { color: '#fff', fontWeight: '600', fontSize: 16 },
  secondaryText: { color: colors.accent, fontWeight: '600', fontSize: 16 },
  error: { color: colors.danger, fontSize: 14 },
  info: { color: colors.muted, fontSize: 14 },
})
