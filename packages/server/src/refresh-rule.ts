import type { SessionRow } from './db/schema.js'
import { isLive, type Lifetimes } from './store/sessions.js'

/**
 * What an authentic refresh token (its MAC already checked) means for its session:
 * - `rotate`: it carries the session's current counter; rotate and answer a new pair;
 * - `grace`: it is the previous token, presented within `graceSeconds` of the rotation that
 *   replaced it (a lost response or a concurrent retry): answer the current pair, rotate nothing;
 * - `reuse`: any other token (older, or the previous one after the window): a copy is in someone
 *   else's hands; revoke the whole session (RFC 9700 §4.14.2, refresh token rotation);
 * - `dead`: the session is gone, revoked or past its idle or absolute lifetime: refuse, change nothing;
 * - `unproven`: the session is bound to a DPoP key (RFC 9449) and the request has no valid proof
 *   by that key: refuse (`invalid_dpop_proof`) and change nothing. Whoever sent it lacks the key,
 *   so it says nothing about the legitimate device: revoking here would let a thief without the
 *   key sign the user out.
 * For a bound session the previous token with a proof by the bound key is `grace` at any time, not
 * only within `graceSeconds`: only the device holding the key can send it, so a late retry after a
 * lost answer (FAPI 2.0 Security Profile §5.3.2.1: a client that did not receive the new refresh
 * token can retry with the previous one) is told apart from a replay by someone else.
 */
export type RefreshOutcome = 'rotate' | 'grace' | 'reuse' | 'dead' | 'unproven'

export interface RefreshFacts {
  /** The counter the presented refresh token carries. */
  presentedCounter: number
  /** The session row as read (undefined: no such session, e.g. pruned). */
  session: (Pick<SessionRow, 'counter' | 'rotated_at' | 'revoked_at' | 'last_used_at' | 'created_at'> & { dpop_jkt?: string | null }) | undefined
  /** The RFC 7638 thumbprint of the key of the request's valid DPoP proof; undefined: no valid proof. */
  proofJkt?: string | undefined
  now: Date
  /** The window after a rotation in which the previous token still gets the current pair (inclusive). */
  graceSeconds: number
  life: Lifetimes
}

/**
 * RFC 6749 §6 refresh with rotation, and reuse detection per RFC 9700 §4.14.2: a pure function
 * of the presented token, the session row and the time. It decides what the row means; the
 * conditional UPDATE of `rotateSession` still decides races (a `rotate` is only done if the row
 * is unchanged when the UPDATE runs).
 */
export function decideRefresh(f: RefreshFacts): RefreshOutcome {
  const s = f.session
  if (!s || !isLive(s, f.life, f.now)) return 'dead'
  const bound = s.dpop_jkt != null
  if (bound && f.proofJkt !== s.dpop_jkt) return 'unproven'
  if (f.presentedCounter === s.counter) return 'rotate'
  const previous = f.presentedCounter === s.counter - 1
  if (previous && bound) return 'grace'
  if (previous && s.rotated_at !== null && f.now.getTime() - s.rotated_at.getTime() <= f.graceSeconds * 1000) return 'grace'
  return 'reuse'
}
