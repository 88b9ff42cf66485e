import type { Session } from './session.js'

/**
 * Where the client is, as one value. A session owns an AbortController that ending it (sign-out,
 * another sign-in, storage found empty) aborts, so work started for it — a refresh in flight —
 * knows its result must not be kept. Locking drops the pair from memory without ending the
 * session: the locked phase keeps the controller, and unlock hands it back.
 */
export type Phase =
  | { kind: 'signedOut' }
  /** Storage could not be read; the session's fate is unknown until a read succeeds. */
  | { kind: 'unread' }
  /** The session goes on (its controller with it), its pair out of memory until unlock. */
  | { kind: 'locked'; controller: AbortController }
  | { kind: 'signedIn'; session: Session; controller: AbortController }

/** A signed-in phase; `controller` carries a session across lock/unlock. */
export const signedIn = (session: Session, controller = new AbortController()): Phase => ({ kind: 'signedIn', session, controller })

/** The controller of the session this phase belongs to, if any. */
export const sessionController = (phase: Phase): AbortController | null =>
  phase.kind === 'signedIn' || phase.kind === 'locked' ? phase.controller : null
