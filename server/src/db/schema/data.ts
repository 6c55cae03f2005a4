import { sql } from 'drizzle-orm'
import {
  bigserial,
  bigint,
  boolean,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'
import { organizations, timestamptz, users } from './accounts'
import { automations } from './automations'

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' })

/**
 * Where data is read: a PostgreSQL connection (its connection string sealed
 * with AES-256-GCM in `secret`) or an uploaded file (`config.fileId`). The
 * internal warehouse is a datasource too, but a built-in one with no row.
 */
export const datasources = pgTable(
  'datasources',
  {
    id: uuid('id').primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    type: text('type').notNull().$type<'POSTGRES' | 'FILE'>(),
    description: text('description').notNull().default(''),
    // Never secret: what the UI shows (host, database, file name, CSV options).
    config: jsonb('config').notNull().default({}),
    secret: text('secret'),
    createdBy: uuid('created_by').references(() => users.id),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    deletedAt: timestamptz('deleted_at'),
  },
  (t) => [uniqueIndex('datasources_org_name_live').on(t.orgId, t.name).where(sql`${t.deletedAt} is null`)],
)

/** USE lets a user (or a run as that user) read the datasource; MANAGE also edits and grants it. */
export const datasourceGrants = pgTable(
  'datasource_grants',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    datasourceId: uuid('datasource_id')
      .notNull()
      .references(() => datasources.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    role: text('role').$type<'ADMIN' | 'EDITOR' | 'VIEWER'>(),
    permission: text('permission').notNull().$type<'USE' | 'MANAGE'>(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [index('datasource_grants_datasource').on(t.datasourceId)],
)

/** An uploaded file, kept in the database in chunks so every node can read it. */
export const dataFiles = pgTable(
  'data_files',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    size: bigint('size', { mode: 'number' }).notNull().default(0),
    sha256: text('sha256'),
    contentType: text('content_type'),
    // False while the upload streams in; incomplete files are never read.
    complete: boolean('complete').notNull().default(false),
    createdBy: uuid('created_by').references(() => users.id),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [index('data_files_org').on(t.orgId)],
)

export const dataFileChunks = pgTable(
  'data_file_chunks',
  {
    fileId: uuid('file_id')
      .notNull()
      .references(() => dataFiles.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.fileId, t.seq] })],
)

/** What the platform knows about a storage beyond the catalog: when and by which run it was last loaded. */
export const storageMeta = pgTable(
  'storage_meta',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    modifiedAt: timestamptz('modified_at').notNull().defaultNow(),
    runId: bigint('run_id', { mode: 'number' }),
    automationId: uuid('automation_id'),
    rowCount: bigint('row_count', { mode: 'number' }),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.name] })],
)

/** Metric history: one row per computed value. `datasource_id` is a uuid or 'warehouse'. */
export const metricValues = pgTable(
  'metric_values',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    automationId: uuid('automation_id'),
    runId: bigint('run_id', { mode: 'number' }),
    datasourceId: text('datasource_id').notNull(),
    tableName: text('table_name').notNull(),
    name: text('name').notNull(),
    value: doublePrecision('value'),
    computedAt: timestamptz('computed_at').notNull().defaultNow(),
  },
  (t) => [index('metric_values_lookup').on(t.orgId, t.datasourceId, t.tableName, t.name, t.id)],
)

/** Check history: one row per evaluated check. */
export const checkResults = pgTable(
  'check_results',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    automationId: uuid('automation_id').notNull(),
    runId: bigint('run_id', { mode: 'number' }),
    name: text('name').notNull(),
    outcome: text('outcome').notNull().$type<'OK' | 'WARNING' | 'ERROR'>(),
    value: doublePrecision('value'),
    message: text('message').notNull().default(''),
    blocking: boolean('blocking').notNull().default(true),
    checkedAt: timestamptz('checked_at').notNull().defaultNow(),
  },
  (t) => [index('check_results_lookup').on(t.orgId, t.automationId, t.name, t.id)],
)

/**
 * Variables of an organization (automation_id null) or of one automation. A
 * variable holds a JSON value or an expression evaluated at each run.
 */
export const variables = pgTable(
  'variables',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    automationId: uuid('automation_id').references(() => automations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    value: jsonb('value'),
    expression: text('expression'),
    updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('variables_org_name').on(t.orgId, t.name).where(sql`${t.automationId} is null`),
    uniqueIndex('variables_automation_name')
      .on(t.automationId, t.name)
      .where(sql`${t.automationId} is not null`),
  ],
)
