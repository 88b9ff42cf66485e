import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { audit } from '../store/audit.js'
import { MAX_ROLES_PER_USER, checkRoleName } from './names.js'

// Every query on the user_roles table (migration 8).

/** A user's current roles, sorted (one indexed read: the primary key starts with user_id). */
export async function rolesOf(db: Kysely<Database>, userId: string): Promise<string[]> {
  const rows = await db.selectFrom('user_roles').select('role').where('user_id', '=', userId).orderBy('role').execute()
  return rows.map((r) => r.role)
}

export class UnknownUserError extends Error {
  override name = 'UnknownUserError'
}

export interface RoleChange {
  userId: string
  email: string
  role: string
  /** False when nothing changed (granted twice, revoked when not held). */
  changed: boolean
  roles: string[]
}

const normalizeEmail = (email: string) => email.trim().toLowerCase()

async function userByEmail(db: Kysely<Database>, email: string): Promise<{ id: string; email: string }> {
  const user = await db.selectFrom('users').select(['id', 'email']).where('email', '=', normalizeEmail(email)).executeTakeFirst()
  if (!user) throw new UnknownUserError(`no account has the email ${JSON.stringify(normalizeEmail(email))}`)
  return user
}

/**
 * Grants `role` to the account with `email`; idempotent. Audited (`role_granted`) in the same
 * transaction as the change, with who asked (`by`: e.g. "cli").
 */
export async function grantRole(db: Kysely<Database>, input: { email: string; role: string; by: string; now: Date }): Promise<RoleChange> {
  const role = checkRoleName(input.role)
  return db.transaction().execute(async (trx) => {
    const user = await userByEmail(trx, input.email)
    const held = await rolesOf(trx, user.id)
    if (!held.includes(role) && held.length >= MAX_ROLES_PER_USER) throw new RangeError(`an account holds at most ${MAX_ROLES_PER_USER} roles`)
    const inserted = await trx
      .insertInto('user_roles')
      .values({ user_id: user.id, role, granted_at: input.now })
      .onConflict((oc) => oc.columns(['user_id', 'role']).doNothing())
      .returning('role')
      .executeTakeFirst()
    if (inserted) await audit(trx, { type: 'role_granted', userId: user.id, detail: { role, by: input.by }, now: input.now })
    return { userId: user.id, email: user.email, role, changed: inserted !== undefined, roles: await rolesOf(trx, user.id) }
  })
}

/** Revokes `role` from the account with `email`; idempotent; audited (`role_revoked`) in the same transaction. */
export async function revokeRole(db: Kysely<Database>, input: { email: string; role: string; by: string; now: Date }): Promise<RoleChange> {
  const role = checkRoleName(input.role)
  return db.transaction().execute(async (trx) => {
    const user = await userByEmail(trx, input.email)
    const deleted = await trx.deleteFrom('user_roles').where('user_id', '=', user.id).where('role', '=', role).returning('role').executeTakeFirst()
    if (deleted) await audit(trx, { type: 'role_revoked', userId: user.id, detail: { role, by: input.by }, now: input.now })
    return { userId: user.id, email: user.email, role, changed: deleted !== undefined, roles: await rolesOf(trx, user.id) }
  })
}

/** The roles of the account with `email`. */
export async function rolesByEmail(db: Kysely<Database>, email: string): Promise<{ userId: string; email: string; roles: string[] }> {
  const user = await userByEmail(db, email)
  return { userId: user.id, email: user.email, roles: await rolesOf(db, user.id) }
}

export interface UserWithRoles {
  id: string
  email: string
  createdAt: string
  roles: string[]
}

/** One page of users ordered by email, after `after` (keyset pagination: stable while users sign up). */
export async function listUsersWithRoles(db: Kysely<Database>, page: { after?: string | undefined; limit: number }): Promise<{ users: UserWithRoles[]; next: string | null }> {
  let q = db.selectFrom('users').select(['id', 'email', 'created_at']).orderBy('email').limit(page.limit + 1)
  if (page.after !== undefined) q = q.where('email', '>', page.after)
  const rows = await q.execute()
  const more = rows.length > page.limit
  const shown = rows.slice(0, page.limit)
  const ids = shown.map((r) => r.id)
  const roleRows = ids.length ? await db.selectFrom('user_roles').select(['user_id', 'role']).where('user_id', 'in', ids).orderBy('role').execute() : []
  const byUser = new Map<string, string[]>()
  for (const r of roleRows) byUser.set(r.user_id, [...(byUser.get(r.user_id) ?? []), r.role])
  return {
    users: shown.map((r) => ({ id: r.id, email: r.email, createdAt: r.created_at.toISOString(), roles: byUser.get(r.id) ?? [] })),
    next: more ? shown[shown.length - 1]!.email : null,
  }
}
