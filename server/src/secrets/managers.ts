import type { UserViewer } from '../auth/viewer'
import type { Queryable } from '../db/database'
import { ForbiddenError, NotFoundError, ValidationError } from '../errors'

/**
 * Who may create, rotate and delete organization secrets: every ADMIN, and an
 * EDITOR an admin granted `manageSecrets`. A VIEWER never may: the grant is
 * refused for viewers, and one kept by an editor later made a viewer is ignored.
 * Read fresh from the database on every change, so a revoked grant holds at once.
 */
export async function assertMayManageSecrets(q: Queryable, viewer: UserViewer): Promise<void> {
  if (viewer.role === 'ADMIN') return
  if (viewer.role === 'EDITOR') {
    const [u] = await q.query<{ manage_secrets: boolean }>(
      'select manage_secrets from users where id = $1 and org_id = $2 and deleted_at is null',
      [viewer.userId, viewer.orgId],
    )
    if (u?.manage_secrets) return
    throw new ForbiddenError('only admins, and editors an admin granted manageSecrets, may change secrets')
  }
  throw new ForbiddenError('viewers may not change secrets')
}

/** Whether a user (as stored now) may manage secrets: what `User.manageSecrets` shows. */
export async function managesSecrets(q: Queryable, orgId: string, userId: string): Promise<boolean> {
  const [u] = await q.query<{ role: string; manage_secrets: boolean }>(
    'select role, manage_secrets from users where id = $1 and org_id = $2',
    [userId, orgId],
  )
  return u?.role === 'ADMIN' || (u?.role === 'EDITOR' && u.manage_secrets)
}

/** Grants or withdraws `manageSecrets` (admins only; the caller's scope checks that). */
export async function setSecretManager(
  q: Queryable,
  admin: UserViewer,
  userId: string,
  allowed: boolean,
): Promise<string> {
  const [u] = await q.query<{ id: string; role: string }>(
    'select id, role from users where id = $1 and org_id = $2 and deleted_at is null',
    [userId, admin.orgId],
  )
  if (!u) throw new NotFoundError('user')
  if (allowed && u.role === 'VIEWER')
    throw new ValidationError(
      'invalid input: userId: viewers may never manage secrets; make them an editor first',
      [{ path: 'userId', message: 'viewers may never manage secrets; make them an editor first' }],
    )
  await q.query('update users set manage_secrets = $2 where id = $1', [u.id, allowed])
  return u.id
}
