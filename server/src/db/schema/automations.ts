import { sql } from 'drizzle-orm'
import { boolean, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { folders, organizations, timestamptz, users } from './accounts'

/**
 * The current definition of an automation. Every save also writes an
 * automation_versions row; runs point at the version they ran.
 */
export const automations = pgTable(
  'automations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    folderId: uuid('folder_id').references(() => folders.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    kind: text('kind').notNull(),
    version: integer('version').notNull().default(1),
    currentVersionId: uuid('current_version_id'),
    createdBy: uuid('created_by').references(() => users.id),
    runAsUserId: uuid('run_as_user_id').references(() => users.id),
    allowAllUsersToRun: boolean('allow_all_users_to_run').notNull().default(false),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    deletedAt: timestamptz('deleted_at'),
  },
  (t) => [
    index('automations_org').on(t.orgId),
    uniqueIndex('automations_org_name_live').on(t.orgId, t.name).where(sql`${t.deletedAt} is null`),
  ],
)

/** One immutable snapshot per save. `definition` is what a worker executes. */
export const automationVersions = pgTable(
  'automation_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    automationId: uuid('automation_id')
      .notNull()
      .references(() => automations.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    definition: jsonb('definition').notNull(),
    createdBy: uuid('created_by').references(() => users.id),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('automation_versions_unique').on(t.automationId, t.version)],
)
