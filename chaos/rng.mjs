// A small seeded PRNG (mulberry32), so a seed replays the same choices.

/**
 * @param {number} seed
 * @returns {{ next(): number, int(lo: number, hi: number): number, range(lo: number, hi: number): number, pick<T>(items: T[]): T, chance(p: number): boolean, fork(tag: number): ReturnType<typeof createRng> }}
 */
export function createRng(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const rng = {
    next,
    /** Integer in [lo, hi]. */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    /** Real in [lo, hi). */
    range: (lo, hi) => lo + next() * (hi - lo),
    pick: (items) => items[Math.floor(next() * items.length)],
    chance: (p) => next() < p,
    /** An independent stream for one consumer (an install, the kill loop). */
    fork: (tag) => createRng((Math.imul(seed >>> 0, 2654435761) ^ Math.imul(tag + 1, 0x85ebca6b)) >>> 0),
  }
  return rng
}

/** Fisher–Yates with the given rng. */
export function shuffle(rng, items) {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}
