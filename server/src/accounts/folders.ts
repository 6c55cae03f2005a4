import { z } from 'zod'
import { announceAccessChanged } from '../auth/announce'
import type { UserViewer } from '../auth/viewer'
import type { Database } from '../db/database'
import { Permission, Role } from '../domain'
import { NotFoundError, ValidationError } from '../errors'
import { parseInput } from '../validation'

export interface FolderRow {
  id: string
  org_id: string
  name: string
  created_at: Date
}

export interface GrantRow {
  id: string
  folder_id: string
  user_id: string | null
  role: Role | null
  permission: Permission
}

const NameSchema = z.string().trim().min(1, 'must not be empty').max(100)

export async function createFolder(db: Database, viewer: UserViewer, name: string): Promise<FolderRow> {
  const clean = parseInput(NameSchema, name, 'name')
  const [row] = await db.query<FolderRow>(
    `insert into folders (org_id, name) values ($1, $2) on conflict do nothing returning id, org_id, name, created_at`,
    [viewer.orgId, clean],
  )
  if (!row) {
    throw new ValidationError('invalid name: a folder with this name already exists', [
      { path: 'name', message: 'a folder with this name already exists' },
    ])
  }
  return row
}

export async function deleteFolder(db: Database, viewer: UserViewer, id: string): Promise<FolderRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<FolderRow>(
      'delete from folders where id = $1 and org_id = $2 returning id, org_id, name, created_at',
      [id, viewer.orgId],
    )
    if (!row) throw new NotFoundError('folder')
    await announceAccessChanged(tx, { orgId: viewer.orgId })
    return row
  })
}

export function listFolders(db: Database, orgId: string): Promise<FolderRow[]> {
  return db.query<FolderRow>(
    'select id, org_id, name, created_at from folders where org_id = $1 order by name',
    [orgId],
  )
}

export function listGrants(db: Database, orgId: string, folderId: string): Promise<GrantRow[]> {
  return db.query<GrantRow>(
    'select id, folder_id, user_id, role, permission from folder_grants where org_id = $1 and folder_id = $2',
    [orgId, folderId],
  )
}

const GrantInput = z
  .object({
    folderId: z.uuid('must be a folder id'),
    userId: z.uuid('must be a user id').nullish(),
    role: z.enum([Role.ADMIN, Role.EDITOR, Role.VIEWER]).nullish(),
    permission: z.enum([Permission.VIEW, Permission.RUN, Permission.EDIT]),
  })
  .refine((g) => (g.userId ? 1 : 0) + (g.role ? 1 : 0) === 1, {
    message: 'give exactly one of userId or role',
    path: ['userId'],
  })

/** Grants a user or a role a permission on a folder; the folder becomes restricted to its grantees. */
export async function grantFolder(
  db: Database,
  viewer: UserViewer,
  input: z.input<typeof GrantInput>,
): Promise<GrantRow> {
  const g = parseInput(GrantInput, input)
  const [folder] = await db.query('select 1 from folders where id = $1 and org_id = $2', [
    g.folderId,
    viewer.orgId,
  ])
  if (!folder) throw new NotFoundError('folder')
  if (g.userId) {
    const [u] = await db.query('select 1 from users where id = $1 and org_id = $2 and deleted_at is null', [
      g.userId,
      viewer.orgId,
    ])
    if (!u) throw new NotFoundError('user')
  }
  return db.transaction(async (tx) => {
    const [row] = await tx.query<GrantRow>(
      `insert into folder_grants (org_id, folder_id, user_id, role, permission) values ($1, $2, $3, $4, $5)
       returning id, folder_id, user_id, role, permission`,
      [viewer.orgId, g.folderId, g.userId ?? null, g.role ?? null, g.permission],
    )
    // A first grant restricts the folder for everyone else: the whole organization is affected.
    await announceAccessChanged(tx, { orgId: viewer.orgId })
    return row!
  })
}

export async function revokeGrant(db: Database, viewer: UserViewer, id: string): Promise<GrantRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<GrantRow>(
      'delete from folder_grants where id = $1 and org_id = $2 returning id, folder_id, user_id, role, permission',
      [id, viewer.orgId],
    )
    if (!row) throw new NotFoundError('grant')
    await announceAccessChanged(tx, { orgId: viewer.orgId })
    return row
  })
}
