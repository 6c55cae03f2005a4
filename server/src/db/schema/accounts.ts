import { sql } from 'drizzle-orm'
import {
  boolean,
  customType,
  index,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'

export const organizations = pgTable('organizations', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
})

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    name: text('name').notNull(),
    role: text('role').notNull().$type<'ADMIN' | 'EDITOR' | 'VIEWER'>(),
    passwordHash: text('password_hash'),
    // A pending invitation: the hash of the one-time link's secret, until the user picks a password.
    inviteTokenHash: text('invite_token_hash'),
    inviteExpiresAt: timestamptz('invite_expires_at'),
    /**
     * Set by an admin: this EDITOR may create, rotate and delete organization secrets
     * (admins always may; a VIEWER never does, whatever this says).
     */
    manageSecrets: boolean('manage_secrets').notNull().default(false),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    // Soft delete: runs keep pointing at who triggered them; a deleted user cannot log in.
    deletedAt: timestamptz('deleted_at'),
  },
  (t) => [
    uniqueIndex('users_email_live').on(sql`lower(${t.email})`).where(sql`${t.deletedAt} is null`),
    index('users_org').on(t.orgId),
    uniqueIndex('users_invite').on(t.inviteTokenHash).where(sql`${t.inviteTokenHash} is not null`),
  ],
)

export const sessions = pgTable(
  'sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    expiresAt: timestamptz('expires_at').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [index('sessions_user').on(t.userId)],
)

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    // The first characters, shown in lists so a user can tell tokens apart.
    prefix: text('prefix').notNull(),
    expiresAt: timestamptz('expires_at'),
    lastUsedAt: timestamptz('last_used_at'),
    revokedAt: timestamptz('revoked_at'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [index('api_tokens_user').on(t.userId)],
)

export const folders = pgTable(
  'folders',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('folders_org_name').on(t.orgId, t.name)],
)

/**
 * A folder with no grants is open to the organization by role; a folder with
 * grants is visible only to admins and to the users or roles it names.
 */
export const folderGrants = pgTable(
  'folder_grants',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    folderId: uuid('folder_id')
      .notNull()
      .references(() => folders.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    role: text('role').$type<'ADMIN' | 'EDITOR' | 'VIEWER'>(),
    permission: text('permission').notNull().$type<'VIEW' | 'RUN' | 'EDIT'>(),
  },
  (t) => [index('folder_grants_folder').on(t.folderId)],
)

/** Key-value settings of the installation (first-start markers). */
export const settings = pgTable(
  'settings',
  {
    key: text('key').notNull(),
    value: text('value').notNull(),
  },
  (t) => [primaryKey({ columns: [t.key] })],
)

/** Run, log and event ids are int8, handled as strings on both drivers. */
export const int8 = customType<{ data: string; driverData: string | number | bigint }>({
  dataType: () => 'bigint',
  fromDriver: (v) => String(v),
})
export const int8serial = customType<{ data: string; driverData: string | number | bigint }>({
  dataType: () => 'bigserial',
  fromDriver: (v) => String(v),
})

export function timestamptz(name: string) {
  return timestamp(name, { withTimezone: true, mode: 'date' })
}

/** A run button's credential: may run only its automations, from its origins, and read only its own runs. */
export const embedTokens = pgTable(
  'embed_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    automationIds: uuid('automation_ids').array().notNull(),
    allowedOrigins: text('allowed_origins').array().notNull(),
    createdBy: uuid('created_by').references(() => users.id),
    expiresAt: timestamptz('expires_at'),
    revokedAt: timestamptz('revoked_at'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [index('embed_tokens_org').on(t.orgId)],
)
