import type { Queryable } from '../../db/database'
import type { Role } from '../../domain'
import type { DatasourcePermission } from '../domain'

export interface DatasourceRow {
  id: string
  org_id: string
  name: string
  type: 'POSTGRES' | 'FILE'
  description: string
  config: Record<string, unknown>
  secret: string | null
  created_by: string | null
  created_at: Date
  updated_at: Date
}

export interface DatasourceGrantRow {
  id: string
  datasource_id: string
  user_id: string | null
  role: Role | null
  permission: DatasourcePermission
}

export const DATASOURCE_COLUMNS =
  'id, org_id, name, type, description, config, secret, created_by, created_at, updated_at'

export async function getDatasourceRow(
  q: Queryable,
  orgId: string,
  id: string,
): Promise<DatasourceRow | undefined> {
  const [row] = await q.query<DatasourceRow>(
    `select ${DATASOURCE_COLUMNS} from datasources where id = $1 and org_id = $2 and deleted_at is null`,
    [id, orgId],
  )
  return row
}

export function listDatasourceRows(q: Queryable, orgId: string): Promise<DatasourceRow[]> {
  return q.query<DatasourceRow>(
    `select ${DATASOURCE_COLUMNS} from datasources where org_id = $1 and deleted_at is null order by name`,
    [orgId],
  )
}

export function listDatasourceGrants(
  q: Queryable,
  orgId: string,
  datasourceId?: string,
): Promise<DatasourceGrantRow[]> {
  return q.query<DatasourceGrantRow>(
    `select id, datasource_id, user_id, role, permission from datasource_grants
     where org_id = $1 and ($2::uuid is null or datasource_id = $2) order by created_at`,
    [orgId, datasourceId ?? null],
  )
}
