import { RoleEnum, UserType, userOf } from '../../accounts/graphql'
import { getUser } from '../../accounts/users'
import { builder } from '../../graphql/builder'
import { DatasourcePermission, WAREHOUSE_ID } from '../domain'
import { datasourcePermission } from './access'
import { datasourceFor } from './service'
import {
  type DatasourceGrantRow,
  type DatasourceRow,
  listDatasourceGrants,
  listDatasourceRows,
} from './store'

/** A datasource as the viewer sees it; `row` is null for the built-in warehouse. */
export interface DatasourceView {
  row: DatasourceRow | null
  permission: DatasourcePermission
}

const DatasourceTypeEnum = builder.enumType('DatasourceType', {
  values: ['WAREHOUSE', 'POSTGRES', 'FILE'] as const,
})
export const DatasourcePermissionEnum = builder.enumType('DatasourcePermission', {
  values: Object.values(DatasourcePermission),
})

const ConnectionInfo = builder
  .objectRef<{ host: string; port: number; database: string; user: string; sslmode: string | null }>(
    'ConnectionInfo',
  )
  .implement({
    description: 'A PostgreSQL connection without its password',
    fields: (t) => ({
      host: t.exposeString('host'),
      port: t.exposeInt('port'),
      database: t.exposeString('database'),
      user: t.exposeString('user'),
      sslmode: t.exposeString('sslmode', { nullable: true }),
    }),
  })

const FileInfo = builder
  .objectRef<{ fileId: string; fileName: string; size: number; sha256: string; format: string }>(
    'DataFileInfo',
  )
  .implement({
    fields: (t) => ({
      id: t.exposeID('fileId'),
      name: t.exposeString('fileName'),
      size: t.exposeFloat('size'),
      sha256: t.exposeString('sha256'),
      format: t.exposeString('format'),
    }),
  })

export const GrantType = builder.objectRef<DatasourceGrantRow>('DatasourceGrant').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    datasourceId: t.exposeID('datasource_id'),
    userId: t.exposeID('user_id', { nullable: true }),
    role: t.field({ type: RoleEnum, nullable: true, resolve: (g) => g.role }),
    permission: t.field({ type: DatasourcePermissionEnum, resolve: (g) => g.permission }),
  }),
})

export const DatasourceType = builder.objectRef<DatasourceView>('Datasource').implement({
  description:
    'Where data is read: the warehouse (id "warehouse"), a PostgreSQL connection or an uploaded file',
  fields: (t) => ({
    id: t.id({ resolve: (d) => d.row?.id ?? WAREHOUSE_ID }),
    name: t.string({ resolve: (d) => d.row?.name ?? 'Warehouse' }),
    type: t.field({ type: DatasourceTypeEnum, resolve: (d) => d.row?.type ?? 'WAREHOUSE' }),
    description: t.string({
      resolve: (d) => d.row?.description ?? 'The organization’s own warehouse (storages)',
    }),
    connection: t.field({
      type: ConnectionInfo,
      nullable: true,
      resolve: (d) => (d.row?.type === 'POSTGRES' ? (d.row.config as never) : null),
    }),
    file: t.field({
      type: FileInfo,
      nullable: true,
      resolve: (d) => (d.row?.type === 'FILE' ? (d.row.config as never) : null),
    }),
    fileOptions: t.field({
      type: 'JSON',
      nullable: true,
      resolve: (d) => (d.row?.type === 'FILE' ? (d.row.config.options ?? {}) : null),
    }),
    viewerPermission: t.field({ type: DatasourcePermissionEnum, resolve: (d) => d.permission }),
    createdBy: t.field({
      type: UserType,
      nullable: true,
      resolve: (d, _a, ctx) =>
        d.row?.created_by
          ? getUser(ctx.services.db, d.row.org_id, d.row.created_by).then((u) => u ?? null)
          : null,
    }),
    createdAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.row?.created_at ?? null }),
    updatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.row?.updated_at ?? null }),
    grants: t.field({
      type: [GrantType],
      description: 'Who may use it (visible to those who manage it)',
      resolve: (d, _a, ctx) =>
        d.row && d.permission === 'MANAGE'
          ? listDatasourceGrants(ctx.services.db, d.row.org_id, d.row.id)
          : [],
    }),
  }),
})

export const WAREHOUSE: DatasourceView = { row: null, permission: 'USE' }

builder.queryField('datasources', (t) =>
  t.field({
    type: [DatasourceType],
    authScopes: { user: true },
    description: 'Datasources the viewer may use: the warehouse first, then by name',
    resolve: async (_r, _a, ctx) => {
      const viewer = userOf(ctx)
      const [rows, grants] = await Promise.all([
        listDatasourceRows(ctx.services.db, viewer.orgId),
        listDatasourceGrants(ctx.services.db, viewer.orgId),
      ])
      const visible: DatasourceView[] = [WAREHOUSE]
      for (const row of rows) {
        const permission = datasourcePermission({ userId: viewer.userId, role: viewer.role }, row, grants)
        if (permission) visible.push({ row, permission })
      }
      return visible
    },
  }),
)

builder.queryField('datasource', (t) =>
  t.field({
    type: DatasourceType,
    nullable: true,
    authScopes: { user: true },
    args: { id: t.arg.id() },
    resolve: async (_r, { id }, ctx) => {
      if (String(id) === WAREHOUSE_ID) return WAREHOUSE
      return datasourceFor(ctx.services.db, userOf(ctx), String(id), 'USE').catch(() => null)
    },
  }),
)
