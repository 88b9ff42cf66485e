import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { FolderLockedError, LOCK_FILE, lockDataFolder, processStartTime, type LockHolder } from './folder-lock.js'
import { openDatabase } from './connect.js'

// Security review finding 7: two processes wrote one PGlite folder. These check the lock itself;
// rotate-keys-running.test.ts checks it between real server processes.

describe('finding 7: the data-folder lock', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-lock-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const writeLock = (h: Partial<LockHolder>) =>
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, startTime: processStartTime('self'), host: hostname(), since: '2026-01-01T00:00:00.000Z', nonce: 'other', ...h }))
  /** A pid that has just exited (reaped, so no process has it until the kernel hands it out again). */
  const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!

  test('finding 7: a second lock on a held folder is refused with the folder and the pid; released on close, then lockable again', () => {
    const lock = lockDataFolder(dir)
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() })
    let err: unknown
    try {
      lockDataFolder(dir)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(FolderLockedError)
    expect((err as Error).message).toContain(dir)
    expect((err as Error).message).toContain(`pid ${process.pid}`)
    lock.release()
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false)
    lockDataFolder(dir).release()
  })

  test('finding 7: a lock whose process is gone is taken over', () => {
    writeLock({ pid: deadPid(), startTime: null })
    const lock = lockDataFolder(dir)
    expect(lock.holder.pid).toBe(process.pid)
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ nonce: lock.holder.nonce })
    lock.release()
  })

  test.runIf(processStartTime('self') !== null)('finding 7: a lock naming a live pid with another start time (the pid was reused) is taken over', () => {
    writeLock({ startTime: '1' })
    lockDataFolder(dir).release()
  })

  test('finding 7: a lock held on another host is never taken over (its process cannot be checked from here)', () => {
    writeLock({ pid: deadPid(), host: 'elsewhere.invalid' })
    expect(() => lockDataFolder(dir)).toThrow(/in use by another Latchkey process \(pid \d+ on host elsewhere\.invalid/)
  })

  test('finding 7: release removes only its own lock', () => {
    const lock = lockDataFolder(dir)
    writeLock({ nonce: 'someone-else' })
    lock.release()
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true)
  })

  test('finding 7: openDatabase on a locked folder fails before opening PGlite, leaves the holder\'s lock, and a closed handle frees the folder', async () => {
    const first = await openDatabase({ dataDir: dir })
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(FolderLockedError)
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true)
    await first.close()
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false)
    const again = await openDatabase({ dataDir: dir })
    await again.close()
  })

  test('finding 7: memory:// takes no lock', async () => {
    const a = await openDatabase({ dataDir: 'memory://' })
    const b = await openDatabase({ dataDir: 'memory://' })
    await Promise.all([a.close(), b.close()])
  })
})
