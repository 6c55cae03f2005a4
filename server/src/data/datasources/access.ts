import type { Queryable } from '../../db/database'
import type { Role } from '../../domain'
import { DatasourcePermission, WAREHOUSE_ID } from '../domain'
import { type DatasourceGrantRow, type DatasourceRow, getDatasourceRow, listDatasourceGrants } from './store'

export interface Grantee {
  userId: string
  role: Role
}

/**
 * What a user may do with a datasource: admins and its creator MANAGE it;
 * anyone else has what a grant to them or to their role gives, else nothing.
 */
export function datasourcePermission(
  who: Grantee,
  ds: Pick<DatasourceRow, 'id' | 'created_by'>,
  grants: readonly DatasourceGrantRow[],
): DatasourcePermission | null {
  if (who.role === 'ADMIN' || ds.created_by === who.userId) return DatasourcePermission.MANAGE
  let best: DatasourcePermission | null = null
  for (const g of grants) {
    if (g.datasource_id !== ds.id) continue
    if (g.user_id !== who.userId && g.role !== who.role) continue
    if (g.permission === 'MANAGE') return 'MANAGE'
    best = 'USE'
  }
  return best
}

/** The live user a run reads as, or undefined when there is none (then only the warehouse is readable). */
export async function runAsGrantee(
  q: Queryable,
  orgId: string,
  userId: string | null,
): Promise<Grantee | undefined> {
  if (!userId) return undefined
  const [u] = await q.query<{ id: string; role: Role }>(
    'select id, role from users where id = $1 and org_id = $2 and deleted_at is null',
    [userId, orgId],
  )
  return u && { userId: u.id, role: u.role }
}

/** Permission of `who` on one datasource, loading its grants. */
export async function permissionOn(
  q: Queryable,
  who: Grantee,
  ds: DatasourceRow,
): Promise<DatasourcePermission | null> {
  if (who.role === 'ADMIN' || ds.created_by === who.userId) return 'MANAGE'
  return datasourcePermission(who, ds, await listDatasourceGrants(q, ds.org_id, ds.id))
}

/**
 * At save: why a statement may not run on this datasource for the saver, or null. An
 * unknown datasource and one not granted to the saver read the same, as the API shows
 * them; a run checks its run-as user again when it connects.
 */
export async function queryDatasourceProblem(
  q: Queryable,
  orgId: string,
  saver: Grantee,
  id: string,
): Promise<string | null> {
  if (id === WAREHOUSE_ID) return null
  const row = await getDatasourceRow(q, orgId, id)
  if (!row || !(await permissionOn(q, saver, row)))
    return `no datasource ${id} that you may use (an admin or its creator grants USE on it)`
  if (row.type !== 'POSTGRES')
    return `datasource "${row.name}" is a file: load it into a storage, then query the storage on the warehouse`
  return null
}
