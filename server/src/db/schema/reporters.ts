import { sql } from 'drizzle-orm'
import { boolean, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { int8, int8serial, organizations, timestamptz, users } from './accounts'
import { automations } from './automations'

/**
 * A channel connection: how the organization reaches one mail server, Slack
 * workspace, Teams channel, webhook receiver, Twilio account or storage. Set up
 * by admins; credentials are never stored here, only `${secret.NAME}` references
 * to organization secrets (reporters/channels/*.ts validate `config`).
 */
export const channelConnections = pgTable(
  'channel_connections',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    type: text('type').notNull(),
    config: jsonb('config').notNull().default({}),
    createdBy: uuid('created_by').references(() => users.id),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('channel_connections_org_name').on(t.orgId, t.name)],
)

/**
 * A reporter of an automation: on START or END (with a condition), render
 * `template` (Liquid) and send it through a connection to `target` (recipients,
 * Slack channel, phone numbers, storage...). Not versioned with the definition:
 * changing who is told does not change what the automation does.
 */
export const reporters = pgTable(
  'reporters',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    automationId: uuid('automation_id')
      .notNull()
      .references(() => automations.id, { onDelete: 'cascade' }),
    connectionId: uuid('connection_id')
      .notNull()
      .references(() => channelConnections.id, { onDelete: 'restrict' }),
    name: text('name').notNull(),
    /** START or END. */
    event: text('event').notNull(),
    /** For END: ANY, SUCCEEDED, FAILED (FAILED or TIMED_OUT), NOT_SUCCEEDED, CANCELLED, TIMED_OUT, EXPRESSION. */
    condition: text('condition').notNull().default('ANY'),
    expression: text('expression'),
    template: text('template').notNull(),
    target: jsonb('target').notNull().default({}),
    enabled: boolean('enabled').notNull().default(true),
    createdBy: uuid('created_by').references(() => users.id),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [index('reporters_automation').on(t.automationId, t.event)],
)

/**
 * One message a reporter owes about one run: a durable job of its own, written in
 * the transaction that starts or ends the run, claimed by any node's delivery
 * worker (FOR UPDATE SKIP LOCKED, under a lease), retried with backoff. The
 * idempotency key (reporter, run, outcome, and for an end the attempt that ended it)
 * makes a run retried or recovered give one message; receivers see it as
 * X-Switchyard-Delivery.
 */
export const deliveries = pgTable(
  'deliveries',
  {
    id: int8serial('id').primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    runId: int8('run_id').notNull(),
    automationId: uuid('automation_id').notNull(),
    reporterId: uuid('reporter_id'),
    /** A SEND_MESSAGE step's message (connection, template, target), for deliveries without a reporter. */
    spec: jsonb('spec'),
    idempotencyKey: text('idempotency_key').notNull(),
    /** START, or the run's final state. */
    outcome: text('outcome').notNull(),
    /** QUEUED, SENDING, DELIVERED, FAILED, SKIPPED (condition false). */
    state: text('state').notNull().default('QUEUED'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(6),
    nextAttemptAt: timestamptz('next_attempt_at').notNull().defaultNow(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamptz('lease_expires_at'),
    /** The run as it was when the delivery was queued (a START message must not read the end). */
    snapshot: jsonb('snapshot').notNull(),
    responseCode: integer('response_code'),
    error: text('error'),
    /** What was sent, in short (recipients, URL without its query). */
    detail: text('detail'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    deliveredAt: timestamptz('delivered_at'),
  },
  (t) => [
    uniqueIndex('deliveries_idempotency').on(t.idempotencyKey),
    index('deliveries_run').on(t.runId, t.id),
    index('deliveries_due').on(t.nextAttemptAt, t.id).where(sql`${t.state} = 'QUEUED'`),
    index('deliveries_leased').on(t.leaseExpiresAt).where(sql`${t.state} = 'SENDING'`),
  ],
)
