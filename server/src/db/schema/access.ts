import { sql } from 'drizzle-orm'
import {
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'
import { int8, int8serial, organizations, timestamptz, users } from './accounts'

/**
 * Failed sign-ins per key (`account:<email>`, `address:<ip>`) in a fixed
 * window, shared by every node through the database (auth/throttle.ts).
 */
export const loginThrottle = pgTable('login_throttle', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull(),
  windowStart: timestamptz('window_start').notNull(),
})

/** An organization secret: its value sealed with SWITCHYARD_SECRET_KEY, bound to its id. */
export const secrets = pgTable(
  'secrets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    sealed: text('sealed').notNull(),
    description: text('description').notNull().default(''),
    createdBy: uuid('created_by').references(() => users.id),
    updatedBy: uuid('updated_by').references(() => users.id),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('secrets_org_name').on(t.orgId, t.name)],
)

/** Which automation used which secret: one row per pair, with its latest run. */
export const secretUsages = pgTable(
  'secret_usages',
  {
    secretId: uuid('secret_id')
      .notNull()
      .references(() => secrets.id, { onDelete: 'cascade' }),
    automationId: uuid('automation_id').notNull(),
    orgId: uuid('org_id').notNull(),
    lastRunId: int8('last_run_id'),
    uses: integer('uses').notNull().default(1),
    firstUsedAt: timestamptz('first_used_at').notNull().defaultNow(),
    lastUsedAt: timestamptz('last_used_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.secretId, t.automationId] })],
)

/** Who did what, when and from where: every change and every manual run (audit/). */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: int8serial('id').primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    at: timestamptz('at').notNull().defaultNow(),
    actorUserId: uuid('actor_user_id'),
    /** The user's email, or the embed token's name: kept as it was when it happened. */
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    /** OK, or the typed error the operation ended with. */
    outcome: text('outcome').notNull(),
    details: jsonb('details').notNull().default({}),
    address: text('address'),
    userAgent: text('user_agent'),
  },
  (t) => [
    index('audit_events_org').on(t.orgId, t.id),
    index('audit_events_action').on(t.orgId, t.action, t.id),
    index('audit_events_actor').on(t.orgId, t.actorUserId, t.id),
    index('audit_events_target').on(t.orgId, t.targetId, t.id).where(sql`${t.targetId} is not null`),
  ],
)
