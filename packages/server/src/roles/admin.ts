import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { grantRole, revokeRole, rolesByEmail } from './store.js'

/** The `roles` admin commands: `grant <email> <role>`, `revoke <email> <role>`, `list <email>`. */
export type RolesAction = 'grant' | 'revoke' | 'list'

export interface RolesCommand {
  action: RolesAction
  email: string
  role?: string | undefined
}

export class RolesUsageError extends Error {
  override name = 'RolesUsageError'
}

export const ROLES_USAGE = 'latchkey-server roles grant <email> <role> | roles revoke <email> <role> | roles list <email>'

/** Reads `roles <action> <email> [role]` from the command line (or the admin socket's `args`). */
export function parseRolesCommand(input: unknown): RolesCommand {
  const o = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>
  const { action, email, role } = o
  if (action !== 'grant' && action !== 'revoke' && action !== 'list') throw new RolesUsageError(`unknown roles action ${JSON.stringify(action)}; usage: ${ROLES_USAGE}`)
  if (typeof email !== 'string' || email.trim() === '' || email.length > 320) throw new RolesUsageError(`an email is required; usage: ${ROLES_USAGE}`)
  if (action === 'list') return { action, email }
  if (typeof role !== 'string') throw new RolesUsageError(`a role is required; usage: ${ROLES_USAGE}`)
  return { action, email, role }
}

export function rolesCommandFromArgv(argv: readonly string[]): RolesCommand {
  const [action, email, role, ...rest] = argv
  if (rest.length > 0) throw new RolesUsageError(`too many arguments; usage: ${ROLES_USAGE}`)
  return parseRolesCommand({ action, email, role })
}

/**
 * Runs one roles command on the database: the same code whether the CLI opened the database itself
 * (PostgreSQL, or a PGlite folder no server holds) or a running server does it for the CLI over its
 * admin socket. Grants and revokes are audited (`role_granted`, `role_revoked`, by "cli").
 * Nothing to announce by hand: the server's own role checks read the table on each request
 * (roles/routes.ts), /me's cached roles are forgotten through migration 10's notification (on
 * PGlite heard by the server before this returns), and access tokens carry the new roles from
 * their next refresh.
 */
export async function runRolesCommand(db: Kysely<Database>, cmd: RolesCommand, now: Date): Promise<{ email: string; roles: string[]; changed?: boolean }> {
  if (cmd.action === 'list') {
    const r = await rolesByEmail(db, cmd.email)
    return { email: r.email, roles: r.roles }
  }
  const change = cmd.action === 'grant' ? await grantRole(db, { email: cmd.email, role: cmd.role!, by: 'cli', now }) : await revokeRole(db, { email: cmd.email, role: cmd.role!, by: 'cli', now })
  return { email: change.email, roles: change.roles, changed: change.changed }
}

/** The line the CLI prints for an answer. */
export function describeRolesAnswer(cmd: RolesCommand, answer: { email?: unknown; roles?: unknown; changed?: unknown }): string {
  const roles = Array.isArray(answer.roles) && answer.roles.length > 0 ? answer.roles.join(', ') : '(none)'
  const who = String(answer.email ?? cmd.email)
  if (cmd.action === 'list') return `${who}: ${roles}`
  const verb = cmd.action === 'grant' ? 'granted' : 'revoked'
  const what = answer.changed === false ? `${cmd.role} was already ${cmd.action === 'grant' ? 'held' : 'not held'}` : `${verb} ${cmd.role}`
  return `${who}: ${what}; roles now ${roles} (access tokens carry the change from their next refresh; this server's own endpoints at once)`
}
