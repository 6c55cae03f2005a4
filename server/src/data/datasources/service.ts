import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { UserViewer } from '../../auth/viewer'
import type { Queryable } from '../../db/database'
import { Role } from '../../domain'
import { ForbiddenError, NotFoundError, ValidationError, coerceError } from '../../errors'
import { fillSecrets, redactor, secretNamesIn } from '../../secrets/references'
import { missingSecret, openSecrets, unknownSecrets } from '../../secrets/store'
import { isUuid, parseInput } from '../../validation'
import { open, seal } from '../crypto'
import { DatasourcePermission } from '../domain'
import { FileOptionsInput } from '../files/reader'
import type { DataServices } from '../services'
import { permissionOn } from './access'
import { ConnectionString, describeConnection } from './postgres'
import { DATASOURCE_COLUMNS, type DatasourceGrantRow, type DatasourceRow, getDatasourceRow } from './store'

const Name = z.string().trim().min(1, 'must not be empty').max(200)

export const CreatePostgresInput = z.object({
  name: Name,
  description: z.string().max(2000).default(''),
  connectionString: ConnectionString,
})

export const UpdateDatasourceInput = z.object({
  name: Name.optional(),
  description: z.string().max(2000).optional(),
  connectionString: ConnectionString.optional(),
  fileOptions: FileOptionsInput.optional(),
})

const GrantInput = z
  .object({
    datasourceId: z.uuid('must be a datasource id'),
    userId: z.uuid('must be a user id').nullish(),
    role: z.enum([Role.ADMIN, Role.EDITOR, Role.VIEWER]).nullish(),
    permission: z.enum([DatasourcePermission.USE, DatasourcePermission.MANAGE]),
  })
  .refine((g) => (g.userId ? 1 : 0) + (g.role ? 1 : 0) === 1, {
    message: 'give exactly one of userId or role',
    path: ['userId'],
  })

function uniqueName(err: unknown): never {
  if ((err as { code?: string }).code === '23505') {
    throw new ValidationError('invalid input: name: a datasource with this name already exists', [
      { path: 'name', message: 'a datasource with this name already exists' },
    ])
  }
  throw err
}

const who = (v: UserViewer) => ({ userId: v.userId, role: v.role })

/** Loads a datasource the viewer may use (USE) or manage (MANAGE); others look like they do not exist. */
export async function datasourceFor(
  q: Queryable,
  viewer: UserViewer,
  id: string,
  needed: DatasourcePermission,
): Promise<{ row: DatasourceRow; permission: DatasourcePermission }> {
  const row = isUuid(id) ? await getDatasourceRow(q, viewer.orgId, id) : undefined
  const permission = row ? await permissionOn(q, who(viewer), row) : null
  if (!row || !permission) throw new NotFoundError('datasource')
  if (needed === 'MANAGE' && permission !== 'MANAGE')
    throw new ForbiddenError('you may use this datasource but not manage it')
  return { row, permission }
}

/**
 * Connection strings are credentials to another system, so only admins add or
 * change them; the string is sealed (AES-256-GCM) before it reaches the database.
 */
export async function createPostgresDatasource(
  data: DataServices,
  viewer: UserViewer,
  input: unknown,
): Promise<DatasourceRow> {
  if (viewer.role !== 'ADMIN') throw new ForbiddenError('only admins may add database connections')
  const i = parseInput(CreatePostgresInput, input)
  await assertSecretsExist(data.db, viewer.orgId, i.connectionString)
  const id = randomUUID()
  const [row] = await data.db
    .query<DatasourceRow>(
      `insert into datasources (id, org_id, name, type, description, config, secret, created_by)
       values ($1, $2, $3, 'POSTGRES', $4, $5::jsonb, $6, $7) returning ${DATASOURCE_COLUMNS}`,
      [
        id,
        viewer.orgId,
        i.name,
        i.description,
        JSON.stringify(describeConnection(i.connectionString)),
        seal(data.secretsKey, i.connectionString, id),
        viewer.userId,
      ],
    )
    .catch(uniqueName)
  return row!
}

export async function updateDatasource(
  data: DataServices,
  viewer: UserViewer,
  id: string,
  input: unknown,
): Promise<DatasourceRow> {
  const { row } = await datasourceFor(data.db, viewer, id, 'MANAGE')
  const i = parseInput(UpdateDatasourceInput, input)
  let config = row.config
  let secret = row.secret
  if (i.connectionString !== undefined) {
    if (row.type !== 'POSTGRES')
      throw new ValidationError('invalid input: connectionString: not a database connection', [
        { path: 'connectionString', message: 'only for POSTGRES datasources' },
      ])
    if (viewer.role !== 'ADMIN') throw new ForbiddenError('only admins may change connection strings')
    await assertSecretsExist(data.db, viewer.orgId, i.connectionString)
    config = describeConnection(i.connectionString)
    secret = seal(data.secretsKey, i.connectionString, row.id)
  }
  if (i.fileOptions !== undefined) {
    if (row.type !== 'FILE')
      throw new ValidationError('invalid input: fileOptions: not a file', [
        { path: 'fileOptions', message: 'only for FILE datasources' },
      ])
    config = { ...config, options: { ...(config.options as object), ...i.fileOptions } }
  }
  const [updated] = await data.db
    .query<DatasourceRow>(
      `update datasources set name = $2, description = $3, config = $4::jsonb, secret = $5, updated_at = now()
       where id = $1 returning ${DATASOURCE_COLUMNS}`,
      [row.id, i.name ?? row.name, i.description ?? row.description, JSON.stringify(config), secret],
    )
    .catch(uniqueName)
  return updated!
}

export async function deleteDatasource(
  data: DataServices,
  viewer: UserViewer,
  id: string,
): Promise<DatasourceRow> {
  const { row } = await datasourceFor(data.db, viewer, id, 'MANAGE')
  await data.db.query('update datasources set deleted_at = now(), secret = null where id = $1', [row.id])
  if (row.type === 'FILE' && row.config.fileId)
    await data.db.query('delete from data_files where id = $1', [row.config.fileId])
  return row
}

/**
 * A connection string's `${secret.NAME}` references must name secrets of the
 * organization when it is saved; the string keeps the references, never values.
 */
export async function assertSecretsExist(
  q: Queryable,
  orgId: string,
  connectionString: string,
): Promise<void> {
  const unknown = await unknownSecrets(q, orgId, secretNamesIn(connectionString))
  if (unknown.length > 0)
    throw new ValidationError(`invalid input: connectionString: ${missingSecret(unknown[0]!)}`, [
      { path: 'connectionString', message: missingSecret(unknown[0]!) },
    ])
}

/**
 * A connection string ready to connect with (never for display): its secret
 * references filled in, URL-encoded. `redact` hides those values again in
 * whatever a failed connection says.
 */
export async function connectionFor(
  data: DataServices,
  orgId: string,
  connectionString: string,
): Promise<{ url: string; redact(text: string): string }> {
  const names = secretNamesIn(connectionString)
  if (names.length === 0) return { url: connectionString, redact: (t) => t }
  let values: ReadonlyMap<string, string>
  try {
    values = (await openSecrets(data.db, data.secretsKey, orgId, names)).values
  } catch (err) {
    throw new ValidationError(`invalid input: connectionString: ${coerceError(err).message}`, [
      { path: 'connectionString', message: coerceError(err).message },
    ])
  }
  return { url: fillSecrets(connectionString, values, encodeURIComponent), redact: redactor(values) }
}

/** The stored connection string of a POSTGRES datasource, references and all. */
export function storedConnectionString(data: DataServices, row: DatasourceRow): string {
  if (!row.secret) throw new ValidationError('this datasource has no connection string', [])
  return open(data.secretsKey, row.secret, row.id)
}

export async function grantDatasource(
  data: DataServices,
  viewer: UserViewer,
  input: unknown,
): Promise<DatasourceGrantRow> {
  const g = parseInput(GrantInput, input)
  await datasourceFor(data.db, viewer, g.datasourceId, 'MANAGE')
  if (g.userId) {
    const [u] = await data.db.query(
      'select 1 from users where id = $1 and org_id = $2 and deleted_at is null',
      [g.userId, viewer.orgId],
    )
    if (!u)
      throw new ValidationError('invalid input: userId: no such user', [
        { path: 'userId', message: 'no such user' },
      ])
  }
  const [row] = await data.db.query<DatasourceGrantRow>(
    `insert into datasource_grants (org_id, datasource_id, user_id, role, permission) values ($1, $2, $3, $4, $5)
     returning id, datasource_id, user_id, role, permission`,
    [viewer.orgId, g.datasourceId, g.userId ?? null, g.role ?? null, g.permission],
  )
  return row!
}

export async function revokeDatasourceGrant(
  data: DataServices,
  viewer: UserViewer,
  grantId: string,
): Promise<DatasourceGrantRow> {
  const [g] = isUuid(grantId)
    ? await data.db.query<DatasourceGrantRow>(
        'select id, datasource_id, user_id, role, permission from datasource_grants where id = $1 and org_id = $2',
        [grantId, viewer.orgId],
      )
    : []
  if (!g) throw new NotFoundError('grant')
  await datasourceFor(data.db, viewer, g.datasource_id, 'MANAGE')
  await data.db.query('delete from datasource_grants where id = $1', [g.id])
  return g
}
