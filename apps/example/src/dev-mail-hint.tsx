import { Message } from './ui'

/**
 * In development (`npm start`, no SMTP_URL) the server prints each message, code included, to its
 * log instead of sending it; a release build says nothing of the kind.
 */
export function DevMailHint() {
  if (!__DEV__) return null
  return <Message kind="info">Development: with no SMTP server configured, the message and its code are printed in the server’s log (the terminal running npm start).</Message>
}
