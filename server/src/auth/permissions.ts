import type { Queryable } from '../db/database'
import { PERMISSION_RANK, type Permission, type Role } from '../domain'
import type { UserViewer } from './viewer'

export interface GrantRow {
  folder_id: string
  user_id: string | null
  role: Role | null
  permission: Permission
}

/** The most a role may ever do, whatever a folder grants. */
const ROLE_CEILING: Record<Role, Permission> = { ADMIN: 'EDIT', EDITOR: 'EDIT', VIEWER: 'VIEW' }

export interface FolderAccess {
  /** The viewer's permission on objects in this folder (null folder = the organization root), or null for none. */
  permissionFor(folderId: string | null): Permission | null
  /** Folders the viewer may see, for filtering lists in SQL. `undefined` means all. */
  readonly visibleFolderIds: readonly string[] | undefined
}

/**
 * Loads the organization's folder grants once and answers permission questions:
 * admins may do everything; a folder without grants is open by role; a folder
 * with grants is visible only to the users and roles it names, capped by role.
 */
export async function loadFolderAccess(
  db: Queryable,
  viewer: Pick<UserViewer, 'userId' | 'orgId' | 'role'> & Partial<UserViewer>,
): Promise<FolderAccess> {
  if (viewer.role === 'ADMIN') return folderAccessOf(viewer, [], [])
  const [grants, folders] = await Promise.all([
    db.query<GrantRow>('select folder_id, user_id, role, permission from folder_grants where org_id = $1', [
      viewer.orgId,
    ]),
    db.query<{ id: string }>('select id from folders where org_id = $1', [viewer.orgId]),
  ])
  return folderAccessOf(
    viewer,
    grants,
    folders.map((f) => f.id),
  )
}

/**
 * The rules of loadFolderAccess over grants already read: all of the organization's, or
 * (to answer for one folder, as a chain starting a child does) only that folder's.
 * `folderIds` are the folders visibleFolderIds is chosen from (none when only permissionFor is asked).
 */
export function folderAccessOf(
  viewer: Pick<UserViewer, 'userId' | 'role'>,
  grants: readonly GrantRow[],
  folderIds: readonly string[],
): FolderAccess {
  if (viewer.role === 'ADMIN') return { permissionFor: () => 'EDIT', visibleFolderIds: undefined }
  const byFolder = new Map<string, GrantRow[]>()
  for (const g of grants) byFolder.set(g.folder_id, [...(byFolder.get(g.folder_id) ?? []), g])
  const ceiling = ROLE_CEILING[viewer.role]
  const permissionFor = (folderId: string | null): Permission | null => {
    const rows = folderId ? byFolder.get(folderId) : undefined
    if (!rows) return ceiling
    let best: Permission | null = null
    for (const g of rows) {
      if (g.user_id !== viewer.userId && g.role !== viewer.role) continue
      if (!best || PERMISSION_RANK[g.permission] > PERMISSION_RANK[best]) best = g.permission
    }
    if (!best) return null
    return PERMISSION_RANK[best] > PERMISSION_RANK[ceiling] ? ceiling : best
  }
  return {
    permissionFor,
    visibleFolderIds: folderIds.filter((id) => permissionFor(id) !== null),
  }
}

export function atLeast(p: Permission | null, needed: Permission): boolean {
  return p !== null && PERMISSION_RANK[p] >= PERMISSION_RANK[needed]
}
