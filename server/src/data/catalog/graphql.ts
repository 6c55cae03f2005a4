import { z } from 'zod'
import { userOf } from '../../accounts/graphql'
import { builder } from '../../graphql/builder'
import { COMMON_ERRORS } from '../../graphql/errors'
import type { Context } from '../../graphql/context'
import { parseInput } from '../../validation'
import { WAREHOUSE_ID } from '../domain'
import { DatasourceRef, UserQuery } from '../load/spec'
import { listVariables } from '../variables/store'
import { scopeValues } from '../variables/resolve'
import { type Catalog, type CatalogColumn, type CatalogTable, browseCatalog } from './browse'
import { BROWSE_TIMEOUT_MS, openForViewer } from './open'
import { PREVIEW_ROWS, type QueryPreview, previewQuery } from './preview'

const CatalogColumnType = builder.objectRef<CatalogColumn>('CatalogColumn').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.exposeString('type', { description: 'PostgreSQL type, e.g. bigint, text, date' }),
    nullable: t.exposeBoolean('nullable'),
  }),
})

const CatalogTableType = builder.objectRef<CatalogTable>('CatalogTable').implement({
  fields: (t) => ({
    schema: t.exposeString('schema'),
    name: t.exposeString('name'),
    kind: t.exposeString('kind', { description: 'TABLE or VIEW' }),
    ref: t.exposeString('ref', {
      description: 'What a config’s `table` takes: the storage name in the warehouse, schema.table elsewhere',
    }),
    columns: t.field({ type: [CatalogColumnType], resolve: (c) => c.columns }),
  }),
})

const CatalogType = builder.objectRef<Catalog>('DatasourceCatalog').implement({
  description: 'Schemas, tables and columns of a datasource that its user may read',
  fields: (t) => ({
    schemas: t.exposeStringList('schemas'),
    tables: t.field({ type: [CatalogTableType], resolve: (c) => c.tables }),
    truncated: t.exposeBoolean('truncated', {
      description: 'More tables matched than one answer lists: give a schema',
    }),
  }),
})

const PreviewType = builder.objectRef<QueryPreview>('QueryPreview').implement({
  fields: (t) => ({
    columns: t.exposeStringList('columns'),
    rows: t.field({
      type: ['JSON'],
      description: 'One JSON array of values per row, in column order',
      resolve: (p) => p.rows,
    }),
    hasMore: t.exposeBoolean('hasMore'),
    omittedRows: t.exposeInt('omittedRows', { description: 'Rows too large to preview (over 64 KiB)' }),
  }),
})

const CatalogArgs = z.object({
  datasourceId: DatasourceRef,
  schema: z.string().min(1).max(200).nullable(),
})

const PreviewArgs = z.object({
  datasourceId: DatasourceRef,
  query: UserQuery,
  parameters: z.record(z.string(), z.unknown()).default({}),
})

const opened = (ctx: Context, id: string) => openForViewer(ctx.services.data, userOf(ctx), id)
// No request signal reaches a resolver: the read is bounded by its own clock.
const deadline = () => AbortSignal.timeout(BROWSE_TIMEOUT_MS + 5_000)

builder.queryField('datasourceCatalog', (t) =>
  t.field({
    type: CatalogType,
    authScopes: { user: true },
    description:
      'Schemas, tables and columns of a datasource granted to you (the warehouse: its storages), read-only',
    errors: { types: COMMON_ERRORS, dataField: { name: 'catalog' } },
    args: {
      datasourceId: t.arg.id({ defaultValue: WAREHOUSE_ID }),
      schema: t.arg.string({ required: false, description: 'Only this schema’s tables' }),
    },
    resolve: async (_r, args, ctx) => {
      const a = parseInput(CatalogArgs, {
        datasourceId: String(args.datasourceId),
        schema: args.schema ?? null,
      })
      const source = await opened(ctx, a.datasourceId)
      return browseCatalog(ctx.services.data, userOf(ctx).orgId, source, a.schema, deadline())
    },
  }),
)

builder.queryField('previewQuery', (t) =>
  t.field({
    type: PreviewType,
    authScopes: { editor: true },
    description: `The first ${PREVIEW_ROWS} rows of a query on a datasource granted to you, in a read-only transaction; \${name} is bound from organization variables and \`parameters\``,
    errors: { types: COMMON_ERRORS, dataField: { name: 'preview' } },
    args: {
      datasourceId: t.arg.id({ defaultValue: WAREHOUSE_ID }),
      query: t.arg.string(),
      parameters: t.arg({ type: 'JSON', required: false }),
    },
    resolve: async (_r, args, ctx) => {
      const viewer = userOf(ctx)
      const a = parseInput(PreviewArgs, {
        datasourceId: String(args.datasourceId),
        query: args.query,
        parameters: args.parameters ?? undefined,
      })
      const source = await opened(ctx, a.datasourceId)
      const { db } = ctx.services.data
      const values = scopeValues(await listVariables(db, viewer.orgId, null), a.parameters, new Date())
      return previewQuery(ctx.services.data, viewer.orgId, source, a.query, values, deadline())
    },
  }),
)
