import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { announceAccessChanged } from '../auth/announce'
import { hashPassword } from '../auth/password'
import type { UserViewer } from '../auth/viewer'
import type { Database, Queryable } from '../db/database'
import { Role } from '../domain'
import { ForbiddenError, NotFoundError, ValidationError } from '../errors'
import { parseInput } from '../validation'

export interface UserRow {
  id: string
  org_id: string
  email: string
  name: string
  role: Role
  created_at: Date
  deleted_at: Date | null
}

export const USER_COLUMNS = 'id, org_id, email, name, role, created_at, deleted_at'

const RoleSchema = z.enum([Role.ADMIN, Role.EDITOR, Role.VIEWER])

/** Who a new user is; an invitation asks for nothing more. */
export const NewUserInput = z.object({
  email: z.email('must be an email address').max(254),
  name: z.string().trim().min(1, 'must not be empty').max(200),
  role: RoleSchema,
})

export const PasswordSchema = z.string().min(8, 'must be at least 8 characters').max(200)

const CreateInput = NewUserInput.extend({ password: PasswordSchema.nullish() })

/**
 * Creates a user in the admin's organization. Without a password an invitation
 * password is generated and returned once, for the admin to hand over.
 */
export async function createUser(
  db: Database,
  viewer: UserViewer,
  input: z.input<typeof CreateInput>,
): Promise<{ user: UserRow; initialPassword: string | null }> {
  const data = parseInput(CreateInput, input)
  const initialPassword = data.password ? null : randomBytes(12).toString('base64url')
  const hash = await hashPassword(data.password ?? initialPassword!)
  const user = await insertUser(db, viewer.orgId, data, { passwordHash: hash })
  return { user, initialPassword }
}

/**
 * Inserts a user with either a password hash or a pending invitation; an email
 * already in use becomes a ValidationError on the email field.
 */
export async function insertUser(
  db: Queryable,
  orgId: string,
  who: z.output<typeof NewUserInput>,
  secret: { passwordHash: string } | { inviteTokenHash: string; inviteExpiresAt: Date },
): Promise<UserRow> {
  const invite = 'inviteTokenHash' in secret ? secret : null
  try {
    const [user] = await db.query<UserRow>(
      `insert into users (org_id, email, name, role, password_hash, invite_token_hash, invite_expires_at)
       values ($1, $2, $3, $4, $5, $6, $7) returning ${USER_COLUMNS}`,
      [
        orgId,
        who.email,
        who.name,
        who.role,
        'passwordHash' in secret ? secret.passwordHash : null,
        invite?.inviteTokenHash ?? null,
        invite?.inviteExpiresAt ?? null,
      ],
    )
    return user!
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      throw new ValidationError('invalid input: email: a user with this email already exists', [
        { path: 'email', message: 'a user with this email already exists' },
      ])
    }
    throw err
  }
}

export function listUsers(db: Database, orgId: string): Promise<UserRow[]> {
  return db.query<UserRow>(
    `select ${USER_COLUMNS} from users where org_id = $1 and deleted_at is null order by created_at`,
    [orgId],
  )
}

export async function getUser(db: Database, orgId: string, id: string): Promise<UserRow | undefined> {
  const [u] = await db.query<UserRow>(`select ${USER_COLUMNS} from users where id = $1 and org_id = $2`, [
    id,
    orgId,
  ])
  return u
}

/** Changes a user's role; the last admin of an organization cannot step down. */
export async function setUserRole(
  db: Database,
  viewer: UserViewer,
  id: string,
  role: Role,
): Promise<UserRow> {
  parseInput(RoleSchema, role, 'role')
  return db.transaction(async (tx) => {
    const [target] = await tx.query<UserRow>(
      `select ${USER_COLUMNS} from users where id = $1 and org_id = $2 and deleted_at is null for update`,
      [id, viewer.orgId],
    )
    if (!target) throw new NotFoundError('user')
    if (target.role === 'ADMIN' && role !== 'ADMIN') await assertNotLastAdmin(tx, viewer.orgId, id)
    const [user] = await tx.query<UserRow>(
      `update users set role = $2 where id = $1 returning ${USER_COLUMNS}`,
      [id, role],
    )
    await announceAccessChanged(tx, { orgId: viewer.orgId, userId: id })
    return user!
  })
}

/**
 * Deletes a user: they can no longer sign in and their sessions and tokens go.
 * The row stays (soft delete) so runs keep saying who triggered them.
 */
export async function deleteUser(db: Database, viewer: UserViewer, id: string): Promise<UserRow> {
  if (id === viewer.userId) throw new ForbiddenError('you cannot delete yourself; ask another admin')
  return db.transaction(async (tx) => {
    const [target] = await tx.query<UserRow>(
      `select ${USER_COLUMNS} from users where id = $1 and org_id = $2 and deleted_at is null for update`,
      [id, viewer.orgId],
    )
    if (!target) throw new NotFoundError('user')
    if (target.role === 'ADMIN') await assertNotLastAdmin(tx, viewer.orgId, id)
    await tx.query('delete from sessions where user_id = $1', [id])
    await tx.query('update api_tokens set revoked_at = coalesce(revoked_at, now()) where user_id = $1', [id])
    // Run buttons die with their creator (README: embed tokens); an admin makes new ones.
    await tx.query('update embed_tokens set revoked_at = coalesce(revoked_at, now()) where created_by = $1', [
      id,
    ])
    const [user] = await tx.query<UserRow>(
      `update users set deleted_at = now() where id = $1 returning ${USER_COLUMNS}`,
      [id],
    )
    await announceAccessChanged(tx, { orgId: viewer.orgId, userId: id })
    await announceAccessChanged(tx, { orgId: viewer.orgId })
    return user!
  })
}

async function assertNotLastAdmin(
  tx: { query: Database['query'] },
  orgId: string,
  leavingId: string,
): Promise<void> {
  // Locking every admin row serialises two admins demoting each other at once.
  const admins = await tx.query<{ id: string }>(
    `select id from users where org_id = $1 and role = 'ADMIN' and deleted_at is null for update`,
    [orgId],
  )
  if (!admins.some((a) => a.id !== leavingId))
    throw new ForbiddenError('an organization needs at least one admin; promote another user first')
}
