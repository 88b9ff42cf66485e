import { randomBytes } from 'node:crypto'
import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'

/**
 * One process per PGlite data folder (security review finding 7). PGlite is PostgreSQL compiled
 * to WebAssembly running inside the process: it has no postmaster and takes no lock of its own,
 * so two processes on one folder each write their own copy of the pages and the last to close
 * wins (a key made by `rotate-keys` beside a running server vanished at its restart). PostgreSQL
 * itself refuses a second postmaster on a data directory through `postmaster.pid`; this is the
 * same idea for the embedded database.
 *
 * The lock is the file `latchkey.lock` in the folder, created atomically and exclusively: the
 * holder's record is written to a private temporary file which is then hard-linked to the lock
 * name (link(2) fails with EEXIST when the name exists, like open(2) with O_CREAT|O_EXCL, and a
 * reader never sees a half-written record). The record names the pid, the process's start time
 * (Linux `/proc/<pid>/stat`, so a pid reused by another program is not mistaken for the holder)
 * and the host. A lock whose holder is gone (a `kill -9`, a power cut) is taken over; the
 * take-over itself is guarded by a second exclusive file, so two processes starting at once over
 * a stale lock cannot both win.
 */
export const LOCK_FILE = 'latchkey.lock'

export interface LockHolder {
  pid: number
  /** Start time of the process (clock ticks since boot, Linux), when the platform tells it. */
  startTime: string | null
  host: string
  /** When the lock was taken (ISO 8601). */
  since: string
  /** Random per lock: tells this holder's record from a later one with the same pid. */
  nonce: string
}

export class FolderLockedError extends Error {
  override name = 'FolderLockedError'
  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
  ) {
    const where = holder.host === hostname() ? '' : ` on host ${holder.host}`
    super(
      `the data folder ${dir} is in use by another Latchkey process (pid ${holder.pid}${where}, since ${holder.since}): ` +
        `one process at a time may open a PGlite folder. Stop that process first` +
        (where ? `, or delete ${join(dir, LOCK_FILE)} if you are sure it no longer runs` : ''),
    )
  }
}

export interface FolderLock {
  readonly path: string
  readonly holder: LockHolder
  /** Removes the lock if it is still this one's. Idempotent. */
  release(): void
}

/** The start time of a process from `/proc/<pid>/stat` (field 22), or null where there is no /proc. */
export function processStartTime(pid: number | 'self'): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 2 (the command name) is in parentheses and may hold spaces: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[19] ?? null
  } catch {
    return null
  }
}

const isCode = (e: unknown, code: string) => (e as NodeJS.ErrnoException | undefined)?.code === code

function readHolder(path: string): LockHolder | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    if (isCode(e, 'ENOENT')) return undefined
    throw e
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>
    if (typeof h.pid === 'number' && Number.isInteger(h.pid) && h.pid > 0 && typeof h.host === 'string' && typeof h.nonce === 'string') {
      return { pid: h.pid, startTime: typeof h.startTime === 'string' ? h.startTime : null, host: h.host, since: String(h.since), nonce: h.nonce }
    }
  } catch {
    // fall through: a record written by nothing we know (records are linked in whole, never partial)
  }
  throw new Error(`${path} is not a Latchkey lock record; remove it if no Latchkey process uses ${path.slice(0, -LOCK_FILE.length - 1)}`)
}

/** Whether the holder may still run. A holder on another host cannot be checked from here: assumed alive. */
export function holderAlive(h: LockHolder): boolean {
  if (h.host !== hostname()) return true
  try {
    process.kill(h.pid, 0)
  } catch (e) {
    // EPERM: the pid exists but belongs to another user.
    if (!isCode(e, 'EPERM')) return false
  }
  const now = processStartTime(h.pid)
  return h.startTime === null || now === null || now === h.startTime
}

const sameHolder = (a: LockHolder | undefined, b: LockHolder) => a !== undefined && a.nonce === b.nonce && a.pid === b.pid

/** Creates `path` with `record` exclusively (hard link of a private temporary file); false when it exists. */
function createExclusive(path: string, record: string): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const fd = openSync(tmp, 'wx', 0o600)
  try {
    writeSync(fd, record)
  } finally {
    closeSync(fd)
  }
  try {
    linkSync(tmp, path)
    return true
  } catch (e) {
    if (isCode(e, 'EEXIST')) return false
    throw e
  } finally {
    unlinkSync(tmp)
  }
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path)
  } catch (e) {
    if (!isCode(e, 'ENOENT')) throw e
  }
}

/** Removes a stale lock, unless another process is taking it over at the same moment. */
function takeOver(dir: string, path: string, stale: LockHolder, me: LockHolder): void {
  const guard = `${path}.takeover`
  if (!createExclusive(guard, JSON.stringify(me))) {
    const other = readHolder(guard)
    if (other && holderAlive(other)) throw new FolderLockedError(dir, other)
    // The guard's own holder died inside its take-over (a window of two syscalls): clear it and let the caller retry.
    unlinkIfPresent(guard)
    return
  }
  try {
    // Still the same stale record? (Another process may have taken over and locked in between.)
    if (sameHolder(readHolder(path), stale)) unlinkIfPresent(path)
  } finally {
    unlinkIfPresent(guard)
  }
}

/**
 * Takes the exclusive lock on a PGlite data folder (which must exist), or throws
 * FolderLockedError naming the folder and the pid that holds it.
 */
export function lockDataFolder(dir: string): FolderLock {
  const path = join(dir, LOCK_FILE)
  const me: LockHolder = { pid: process.pid, startTime: processStartTime('self'), host: hostname(), since: new Date().toISOString(), nonce: randomBytes(12).toString('base64url') }
  const record = JSON.stringify(me)
  // A few rounds at most: each one that fails either finds a live holder (thrown) or removes a dead one.
  for (let round = 0; round < 5; round++) {
    if (createExclusive(path, record)) {
      let released = false
      return {
        path,
        holder: me,
        release() {
          if (released) return
          released = true
          if (sameHolder(readHolder(path), me)) unlinkIfPresent(path)
        },
      }
    }
    const holder = readHolder(path)
    if (holder === undefined) continue
    if (holderAlive(holder)) throw new FolderLockedError(dir, holder)
    takeOver(dir, path, holder, me)
  }
  const holder = readHolder(path)
  if (holder) throw new FolderLockedError(dir, holder)
  throw new Error(`could not lock the data folder ${dir}: other processes keep taking and releasing it`)
}
