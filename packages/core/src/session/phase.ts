import type { Session } from './session.js'

/**
 * Where the client is, as one value. `signedIn` owns an AbortController that ending the session
 * (sign-out, another sign-in) aborts, so work started for it — a refresh in flight — knows its
 * result must not be kept. Locking drops the pair from memory without ending the session.
 */
export type Phase =
  | { kind: 'signedOut' }
  /** Storage could not be read; the session's fate is unknown until a read succeeds. */
  | { kind: 'unread' }
  | { kind: 'locked' }
  | { kind: 'signedIn'; session: Session; controller: AbortController }

export const signedIn = (session: Session): Phase => ({ kind: 'signedIn', session, controller: new AbortController() })
