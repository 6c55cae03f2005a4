import { hashPassword } from '../../server/src/auth/password'
import type { Database } from '../../server/src/db/database'
import type { Role } from '../../server/src/domain'

export interface TestUser {
  id: string
  email: string
  password: string
  role: Role
}

export interface TestOrg {
  id: string
  users: Record<string, TestUser>
}

let seq = 0

/**
 * An organization with users named by key (`admin`, `editor`, `viewer` by
 * default); each gets a unique email and the password `password-<key>`.
 */
export async function createOrg(
  db: Database,
  roles: Record<string, Role> = { admin: 'ADMIN', editor: 'EDITOR', viewer: 'VIEWER' },
): Promise<TestOrg> {
  const n = ++seq
  const [org] = await db.query<{ id: string }>('insert into organizations (name) values ($1) returning id', [
    `Org ${n}`,
  ])
  const users: Record<string, TestUser> = {}
  for (const [key, role] of Object.entries(roles)) {
    const email = `${key}.${n}.${Math.random().toString(36).slice(2, 8)}@example.test`
    const password = `password-${key}`
    const [u] = await db.query<{ id: string }>(
      'insert into users (org_id, email, name, role, password_hash) values ($1, $2, $3, $4, $5) returning id',
      [org!.id, email, key, role, await hashPassword(password)],
    )
    users[key] = { id: u!.id, email, password, role }
  }
  return { id: org!.id, users }
}
