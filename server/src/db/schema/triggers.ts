import { sql } from 'drizzle-orm'
import {
  boolean,
  customType,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'
import { int8, int8serial, organizations, timestamptz, users } from './accounts'
import { automations } from './automations'

/**
 * What starts an automation without a person: CRON, WEBHOOK, AFTER_AUTOMATION,
 * DATASET_CHANGE, SQL_CHANGE, CODE. Scheduler state lives on the row so any
 * scheduler process can pick up where another stopped.
 */
export const triggers = pgTable(
  'triggers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    automationId: uuid('automation_id')
      .notNull()
      .references(() => automations.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    config: jsonb('config').notNull().default({}),
    parameters: jsonb('parameters').notNull().default({}),
    // WEBHOOK: only the hash of the secret is kept; the prefix tells tokens apart in lists.
    tokenHash: text('token_hash'),
    tokenPrefix: text('token_prefix'),
    // AFTER_AUTOMATION: the automation whose end fires this trigger.
    watchAutomationId: uuid('watch_automation_id'),
    // CRON: the next tick not yet handled (the cursor), and whether it may be queued ahead.
    nextFireAt: timestamptz('next_fire_at'),
    fireEarly: boolean('fire_early').notNull().default(false),
    // CRON with overlap QUEUE: one tick waiting for the previous run to end.
    pendingFireAt: timestamptz('pending_fire_at'),
    // Polling types: when to evaluate next, and who is evaluating now.
    nextCheckAt: timestamptz('next_check_at'),
    leaseOwner: text('lease_owner'),
    leaseUntil: timestamptz('lease_until'),
    state: jsonb('state'),
    lastEvaluatedAt: timestamptz('last_evaluated_at'),
    lastFiredAt: timestamptz('last_fired_at'),
    lastRunId: int8('last_run_id'),
    createdBy: uuid('created_by').references(() => users.id),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('triggers_automation').on(t.automationId),
    uniqueIndex('triggers_token').on(t.tokenHash).where(sql`${t.tokenHash} is not null`),
    index('triggers_cron_due').on(t.nextFireAt).where(sql`${t.type} = 'CRON' and ${t.enabled}`),
    index('triggers_poll_due').on(t.nextCheckAt).where(sql`${t.nextCheckAt} is not null and ${t.enabled}`),
    index('triggers_watch').on(t.watchAutomationId).where(sql`${t.watchAutomationId} is not null`),
    index('triggers_pending').on(t.lastRunId).where(sql`${t.pendingFireAt} is not null`),
  ],
)

/** The automation-level "auto-triggers" switch; no row means on. */
export const triggerSettings = pgTable('trigger_settings', {
  automationId: uuid('automation_id')
    .primaryKey()
    .references(() => automations.id, { onDelete: 'cascade' }),
  orgId: uuid('org_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  autoTriggers: boolean('auto_triggers').notNull().default(true),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
})

/**
 * One row per firing, under a unique key (a CRON tick's time, an upstream run id):
 * inserted with ON CONFLICT DO NOTHING in the transaction that queues the run,
 * so two schedulers (or two nodes running the same hook) never fire it twice.
 */
export const triggerFires = pgTable(
  'trigger_fires',
  {
    triggerId: uuid('trigger_id')
      .notNull()
      .references(() => triggers.id, { onDelete: 'cascade' }),
    fireKey: text('fire_key').notNull(),
    orgId: uuid('org_id').notNull(),
    scheduledAt: timestamptz('scheduled_at'),
    runId: int8('run_id'),
    firedAt: timestamptz('fired_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.triggerId, t.fireKey] }), index('trigger_fires_fired').on(t.firedAt)],
)

/** What happened to triggers beyond plain on-time firing: late, missed, skipped ticks, errors, changes. */
export const triggerEvents = pgTable(
  'trigger_events',
  {
    id: int8serial('id').primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    automationId: uuid('automation_id')
      .notNull()
      .references(() => automations.id, { onDelete: 'cascade' }),
    triggerId: uuid('trigger_id').references(() => triggers.id, { onDelete: 'set null' }),
    at: timestamptz('at').notNull(),
    kind: text('kind').notNull(),
    message: text('message').notNull(),
    runId: int8('run_id'),
    scheduledAt: timestamptz('scheduled_at'),
  },
  (t) => [index('trigger_events_automation').on(t.automationId, t.id), index('trigger_events_at').on(t.at)],
)
