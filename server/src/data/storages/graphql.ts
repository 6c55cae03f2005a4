import { z } from 'zod'
import { userOf } from '../../accounts/graphql'
import { NotFoundError, ValidationError } from '../../errors'
import { builder } from '../../graphql/builder'
import { COMMON_ERRORS } from '../../graphql/errors'
import type { Context } from '../../graphql/context'
import { parseInput } from '../../validation'
import { ColumnName, quoteIdent } from '../identifiers'
import { type StorageColumn, type StorageInfo, listStorages } from './catalog'
import { type PreviewPage, countRows, previewStorage } from './preview'

const StorageKindEnum = builder.enumType('StorageKind', { values: ['TABLE', 'VIEW'] as const })

const StorageColumnType = builder.objectRef<StorageColumn>('StorageColumn').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.exposeString('type', {
      description: 'PostgreSQL type, e.g. bigint, text, timestamp with time zone',
    }),
    nullable: t.exposeBoolean('nullable'),
  }),
})

export const StorageType = builder.objectRef<StorageInfo>('Storage').implement({
  description: 'A table (or view) of the organization’s warehouse',
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.field({ type: StorageKindEnum, resolve: (s) => s.kind }),
    columns: t.field({ type: [StorageColumnType], resolve: (s) => s.columns }),
    rowCount: t.float({
      description: 'Exact count (reads the table)',
      resolve: (s, _a, ctx) => countRows(data(ctx).warehouse, s),
    }),
    rowEstimate: t.float({
      description: 'Planner estimate (free, as fresh as the last ANALYZE)',
      resolve: (s) => s.rowEstimate,
    }),
    modifiedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When a data automation last loaded it (null if only plain SQL wrote it)',
      resolve: (s) => s.modifiedAt,
    }),
    lastRunId: t.id({ nullable: true, resolve: (s) => s.runId }),
  }),
})

const StoragePageType = builder.objectRef<PreviewPage>('StoragePage').implement({
  fields: (t) => ({
    columns: t.exposeStringList('columns'),
    rows: t.field({
      type: ['JSON'],
      description: 'One JSON array of values per row, in column order',
      resolve: (p) => p.rows,
    }),
    offset: t.exposeInt('offset'),
    hasMore: t.exposeBoolean('hasMore'),
  }),
})

const OrderByInput = builder.inputType('StorageOrderBy', {
  fields: (t) => ({ column: t.string(), descending: t.boolean({ required: false }) }),
})

const PreviewArgs = z.object({
  name: ColumnName,
  offset: z.number().int().min(0).max(100_000_000).default(0),
  limit: z.number().int().min(1).max(1000).default(100),
  orderBy: z
    .array(z.object({ column: z.string().min(1), descending: z.boolean().default(false) }))
    .max(10)
    .default([]),
})

function data(ctx: Context) {
  return ctx.services.data
}

/** The storage of the viewer's organization, or NotFound. */
export async function getStorage(ctx: Context, name: string): Promise<StorageInfo> {
  const viewer = userOf(ctx)
  // Any existing table can be read; only new storages must follow StorageName.
  if (!ColumnName.safeParse(name).success) throw new NotFoundError('storage')
  const [s] = await listStorages(ctx.services.db, data(ctx).warehouse, viewer.orgId, name)
  if (!s) throw new NotFoundError('storage')
  return s
}

builder.queryField('storages', (t) =>
  t.field({
    type: [StorageType],
    authScopes: { user: true },
    description: 'Tables and views of the organization’s warehouse',
    resolve: (_r, _a, ctx) => listStorages(ctx.services.db, data(ctx).warehouse, userOf(ctx).orgId),
  }),
)

builder.queryField('storage', (t) =>
  t.field({
    type: StorageType,
    nullable: true,
    authScopes: { user: true },
    args: { name: t.arg.string() },
    resolve: (_r, { name }, ctx) => getStorage(ctx, name).catch(() => null),
  }),
)

builder.queryField('storageRows', (t) =>
  t.field({
    type: StoragePageType,
    authScopes: { user: true },
    description: 'One page of a storage’s rows (limit ≤ 1000)',
    errors: { types: COMMON_ERRORS, dataField: { name: 'page' } },
    args: {
      name: t.arg.string(),
      offset: t.arg.int({ required: false }),
      limit: t.arg.int({ required: false }),
      orderBy: t.arg({ type: [OrderByInput], required: false }),
    },
    resolve: async (_r, args, ctx) => {
      const req = parseInput(PreviewArgs, {
        name: args.name,
        offset: args.offset ?? undefined,
        limit: args.limit ?? undefined,
        orderBy: args.orderBy?.map((o) => ({ column: o.column, descending: o.descending ?? undefined })),
      })
      const storage = await getStorage(ctx, req.name)
      return previewStorage(data(ctx).warehouse, storage, req)
    },
  }),
)

builder.mutationField('deleteStorage', (t) =>
  t.field({
    type: StorageType,
    authScopes: { editor: true },
    description: 'Drops a storage (fails if other objects depend on it)',
    errors: { types: COMMON_ERRORS, dataField: { name: 'storage' } },
    args: { name: t.arg.string() },
    resolve: async (_r, { name }, ctx) => {
      const storage = await getStorage(ctx, name)
      const what = storage.kind === 'VIEW' ? 'view' : 'table'
      await data(ctx)
        .warehouse.session(storage.orgId, { timeoutMs: 30_000 }, (s) =>
          s.query(`drop ${what} ${quoteIdent(storage.name)}`),
        )
        .catch((err: Error) => {
          // Typically "other objects depend on it": the user can act on that.
          throw new ValidationError(err.message, [{ path: 'name', message: err.message }])
        })
      await ctx.services.db.query('delete from storage_meta where org_id = $1 and name = $2', [
        storage.orgId,
        storage.name,
      ])
      return storage
    },
  }),
)
