import { RoleEnum, userOf } from '../../accounts/graphql'
import { ForbiddenError, ValidationError } from '../../errors'
import { builder } from '../../graphql/builder'
import { COMMON_ERRORS } from '../../graphql/errors'
import { parseInput } from '../../validation'
import { WAREHOUSE_ID } from '../domain'
import { DatasourcePermissionEnum, DatasourceType, GrantType } from './graphql'
import { ConnectionString, testConnection } from './postgres'
import {
  connectionFor,
  createPostgresDatasource,
  datasourceFor,
  deleteDatasource,
  grantDatasource,
  revokeDatasourceGrant,
  storedConnectionString,
  updateDatasource,
} from './service'

/** A connection test's answer never shows a secret the connection string used. */
const redacted = <T extends { message: string }>(c: { redact(t: string): string }, r: T): T => ({
  ...r,
  message: c.redact(r.message),
})

const CreateInput = builder.inputType('CreatePostgresDatasourceInput', {
  fields: (t) => ({
    name: t.string(),
    description: t.string({ required: false }),
    connectionString: t.string({
      description: 'postgres://user:password@host:5432/database?sslmode=require',
    }),
  }),
})

const UpdateInput = builder.inputType('UpdateDatasourceInput', {
  fields: (t) => ({
    name: t.string({ required: false }),
    description: t.string({ required: false }),
    connectionString: t.string({ required: false, description: 'Admins only' }),
    fileOptions: t.field({
      type: 'JSON',
      required: false,
      description: 'CSV/XLSX options of a file datasource',
    }),
  }),
})

const noNulls = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v != null))

builder.mutationField('createPostgresDatasource', (t) =>
  t.field({
    type: DatasourceType,
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'datasource' } },
    args: { input: t.arg({ type: CreateInput }) },
    resolve: async (_r, { input }, ctx) => ({
      row: await createPostgresDatasource(ctx.services.data, userOf(ctx), noNulls(input)),
      permission: 'MANAGE' as const,
    }),
  }),
)

builder.mutationField('updateDatasource', (t) =>
  t.field({
    type: DatasourceType,
    authScopes: { user: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'datasource' } },
    args: { id: t.arg.id(), input: t.arg({ type: UpdateInput }) },
    resolve: async (_r, { id, input }, ctx) => ({
      row: await updateDatasource(ctx.services.data, userOf(ctx), String(id), noNulls(input)),
      permission: 'MANAGE' as const,
    }),
  }),
)

builder.mutationField('deleteDatasource', (t) =>
  t.field({
    type: DatasourceType,
    authScopes: { user: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'datasource' } },
    args: { id: t.arg.id() },
    resolve: async (_r, { id }, ctx) => ({
      row: await deleteDatasource(ctx.services.data, userOf(ctx), String(id)),
      permission: 'MANAGE' as const,
    }),
  }),
)

const TestResult = builder
  .objectRef<{ ok: boolean; message: string; latencyMs: number | null; serverVersion: string | null }>(
    'DatasourceTest',
  )
  .implement({
    fields: (t) => ({
      ok: t.exposeBoolean('ok'),
      message: t.exposeString('message'),
      latencyMs: t.exposeInt('latencyMs', { nullable: true }),
      serverVersion: t.exposeString('serverVersion', { nullable: true }),
    }),
  })

builder.mutationField('testDatasource', (t) =>
  t.field({
    type: TestResult,
    authScopes: { user: true },
    description: 'Connects to a saved datasource (id) or, for admins, to a connection string not saved yet',
    errors: { types: COMMON_ERRORS, dataField: { name: 'result' } },
    args: { id: t.arg.id({ required: false }), connectionString: t.arg.string({ required: false }) },
    resolve: async (_r, args, ctx) => {
      const viewer = userOf(ctx)
      if (args.connectionString) {
        if (viewer.role !== 'ADMIN')
          throw new ForbiddenError('only admins may test unsaved connection strings')
        const c = await connectionFor(
          ctx.services.data,
          viewer.orgId,
          parseInput(ConnectionString, args.connectionString, 'connectionString'),
        )
        return redacted(c, await testConnection('new connection', c.url, ctx.services.data.egress))
      }
      if (!args.id)
        throw new ValidationError('give id or connectionString', [{ path: 'id', message: 'required' }])
      if (String(args.id) === WAREHOUSE_ID)
        return { ok: true, message: 'built in', latencyMs: 0, serverVersion: null }
      const { row } = await datasourceFor(ctx.services.db, viewer, String(args.id), 'USE')
      if (row.type !== 'POSTGRES')
        return {
          ok: true,
          message: 'an uploaded file needs no connection',
          latencyMs: 0,
          serverVersion: null,
        }
      const c = await connectionFor(
        ctx.services.data,
        viewer.orgId,
        storedConnectionString(ctx.services.data, row),
      )
      return redacted(c, await testConnection(row.name, c.url, ctx.services.data.egress))
    },
  }),
)

const GrantInput = builder.inputType('DatasourceGrantInput', {
  fields: (t) => ({
    datasourceId: t.id(),
    userId: t.id({ required: false }),
    role: t.field({ type: RoleEnum, required: false }),
    permission: t.field({ type: DatasourcePermissionEnum }),
  }),
})

builder.mutationField('grantDatasource', (t) =>
  t.field({
    type: GrantType,
    authScopes: { user: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'grant' } },
    args: { input: t.arg({ type: GrantInput }) },
    resolve: (_r, { input }, ctx) => grantDatasource(ctx.services.data, userOf(ctx), noNulls(input)),
  }),
)

builder.mutationField('revokeDatasourceGrant', (t) =>
  t.field({
    type: GrantType,
    authScopes: { user: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'grant' } },
    args: { id: t.arg.id() },
    resolve: (_r, { id }, ctx) => revokeDatasourceGrant(ctx.services.data, userOf(ctx), String(id)),
  }),
)
