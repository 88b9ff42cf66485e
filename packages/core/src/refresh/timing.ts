import { backoffCeiling, type BackoffOptions } from './backoff.js'

/**
 * The client's deadlines and the server's grace window are one design (DESIGN, guarantee 4).
 *
 * A refresh whose answer is lost or held has usually rotated the pair at the server; the client
 * gives up on it at its deadline D and retries after the first backoff step, and the retry must
 * reach the server within the grace window G measured from that rotation (RFC 9700 §4.14.2:
 * a rotated token presented again after the window is reuse, and the session is revoked).
 * While the app stays online and in the foreground nothing else delays a retry, so after k lost
 * answers in a row retry k reaches the server at the latest
 *
 *     Σ_{i=1..k} (D + ceiling_i) + D
 *
 * after the first rotation (each attempt lasts at most D; retry i waits at most ceiling_i, the
 * backoff cap for step i). With the defaults (D = 10 s, ceilings 1, 2, 4 s) that is 21 s for one
 * lost answer and 47 s for three; the Latchkey server's default grace is 60 s. An app that is
 * closed or offline for longer than G after a lost answer cannot meet any fixed window: that is
 * what device-bound (DPoP) sessions are for.
 */
export function latestRetryArrivalMs(timing: { refreshTimeoutMs: number; backoff: BackoffOptions }, lostAnswers: number): number {
  let at = 0
  for (let i = 1; i <= lostAnswers; i++) at += timing.refreshTimeoutMs + backoffCeiling(i, timing.backoff)
  return at + timing.refreshTimeoutMs
}
