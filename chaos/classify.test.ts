// The chaos classifier's by-design rule, on the case seed 6 met: a rotation whose answer was lost,
// then grace answers to retries of the same token (also lost), then the app offline, then a refresh
// 61.5 s after the rotation but only 56.3 s after the last grace answer. The server's window runs
// from the rotation (grace answers do not move it), so the rejection is by design.
import { describe, expect, it } from 'vitest'
// @ts-expect-error -- plain .mjs module without types
import { isByDesign } from './classify.mjs'

const t0 = Date.parse('2026-11-23T20:26:50.600Z')
const refresh = (dt: number, token: string, upstreamStatus: number, delivered: boolean) => ({
  install: 'i22', path: '/oauth/token', at: t0 + dt, forwardedAt: t0 + dt, upstreamAt: t0 + dt + 20, upstreamStatus, delivered, refreshToken: token,
})

describe('chaos classifier: the grace window runs from the rotation', () => {
  const records = [
    refresh(-1_000, 'r.55', 200, true), // the client got the pair with counter 56
    refresh(0, 'r.56', 200, false), // rotation to 57, answer lost
    refresh(770, 'r.56', 200, false), // grace answers, lost too
    refresh(2_500, 'r.56', 200, false),
    refresh(5_160, 'r.56', 200, false),
    refresh(61_470, 'r.56', 400, true), // back online: outside the window
  ]
  const install = { id: 'i22', intervals: [{ kind: 'offline', from: t0 + 35_000, to: t0 + 61_460 }] }
  const signOut = { reason: 'refresh_rejected', at: t0 + 61_550 }

  it('a refresh more than the grace after the rotation, with the app away in between, is by design', () => {
    const verdict = isByDesign(install, records, signOut, 60_000)
    expect(verdict).toMatchObject({ byDesign: true, tRot: new Date(t0 + 20).toISOString() })
  })

  it('the same refresh inside the grace window of the rotation is a violation', () => {
    const early = records.map((r, i) => (i === records.length - 1 ? { ...r, at: t0 + 59_000, forwardedAt: t0 + 59_000 } : r))
    expect(isByDesign(install, early, { ...signOut, at: t0 + 59_100 }, 60_000)).toMatchObject({ byDesign: false })
  })

  it('with --dpop the same sign-out is a violation: a bound session has no window, its lost answer is retryable at any time', () => {
    expect(isByDesign(install, records, signOut, 60_000, { dpop: true })).toMatchObject({ byDesign: false, why: expect.stringMatching(/DPoP/) })
  })
})
