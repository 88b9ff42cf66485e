import { AdminChannelUnavailableError, callAdmin } from '../admin/socket.js'
import type { ServerConfig } from '../config.js'
import { KeyCipher, protectStoredKeys } from '../crypto/keys.js'
import { openDatabase } from '../db/connect.js'
import { FolderLockedError } from '../db/folder-lock.js'
import { migrate } from '../db/migrations.js'
import { describeRolesAnswer, rolesCommandFromArgv, runRolesCommand } from './admin.js'

/**
 * `latchkey-server roles grant|revoke|list ...`, designed as `rotate-keys` (finding 7): on
 * PostgreSQL, or a PGlite folder no server holds, the command writes the database itself; on a
 * PGlite folder a running server holds, it asks that server over its admin socket. Either way the
 * change is audited and the running servers' own role checks see it on their next request.
 * Returns the line to print.
 */
export async function rolesCli(config: ServerConfig, argv: readonly string[]): Promise<string> {
  const cmd = rolesCommandFromArgv(argv)
  let handle: Awaited<ReturnType<typeof openDatabase>>
  try {
    handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, preparedStatements: config.preparedStatements })
  } catch (e) {
    if (!(e instanceof FolderLockedError)) throw e
    try {
      const answer = await callAdmin(config.dataDir, 'roles', 60_000, { ...cmd })
      return `${describeRolesAnswer(cmd, answer)}\n(by the running server, pid ${e.holder.pid})`
    } catch (cause) {
      if (cause instanceof AdminChannelUnavailableError) {
        throw new Error(`${e.message}; and it does not answer on its admin socket (${cause.message}): if it is still starting, run the command again once it listens`, { cause })
      }
      throw cause
    }
  }
  try {
    const cipher = config.secret ? new KeyCipher(config.secret) : undefined
    await migrate(handle.db, (trx) => protectStoredKeys(trx, cipher))
    return describeRolesAnswer(cmd, await runRolesCommand(handle.db, cmd, new Date()))
  } finally {
    await handle.close()
  }
}
