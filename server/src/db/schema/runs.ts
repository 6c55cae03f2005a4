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
import { int8, int8serial, organizations, timestamptz } from './accounts'

/**
 * The record of every run, from its queueing to its end. A RUNNING run executed by a
 * worker carries a lease (lease_owner, lease_expires_at). Orchestrating runs (CHAIN)
 * are RUNNING without a lease: their children move them forward. Finding work (due,
 * leased, past a deadline, waiting for a mutex) is run_queue's job: no index here
 * names state, so a state change is a HOT update that touches no index.
 */
export const runs = pgTable(
  'runs',
  {
    id: int8serial('id').primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    automationId: uuid('automation_id').notNull(),
    versionId: uuid('version_id').notNull(),
    version: integer('version').notNull(),
    kind: text('kind').notNull(),
    state: text('state').notNull(),
    triggerSource: text('trigger_source').notNull(),
    triggeredBy: uuid('triggered_by'),
    runAs: uuid('run_as'),
    embedTokenId: uuid('embed_token_id'),
    parentRunId: int8('parent_run_id'),
    // Position among the parent's children (CHAIN step index, WORKFLOW step index in its config).
    step: integer('step'),
    // WORKFLOW children only: the parent's attempt that decided this step (a rerun decides
    // its steps again under the next attempt), and the forEach item index (null when none).
    parentAttempt: integer('parent_attempt'),
    stepItem: integer('step_item'),
    // Why a SKIPPED step did not run, as a code (see kinds/workflow/rules.ts); the text is in error.
    skipCause: text('skip_cause'),
    attempt: integer('attempt').notNull().default(1),
    maxAttempts: integer('max_attempts').notNull().default(1),
    parameters: jsonb('parameters').notNull().default({}),
    outputs: jsonb('outputs'),
    error: text('error'),
    mutexName: text('mutex_name'),
    timeoutMs: integer('timeout_ms'),
    runAt: timestamptz('run_at').notNull().defaultNow(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    startedAt: timestamptz('started_at'),
    finishedAt: timestamptz('finished_at'),
    deadlineAt: timestamptz('deadline_at'),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamptz('lease_expires_at'),
    cancelRequested: text('cancel_requested'),
    // Fencing token of the current claim (a new one from run_claim_tokens per claim):
    // heartbeats, log writes and completions must present it, so a worker whose
    // lease was taken over can never change the run again.
    claimToken: int8('claim_token'),
    // Claim order before run_at: scheduled runs (lower) never wait behind a backlog.
    priority: integer('priority').notNull().default(0),
  },
  (t) => [
    index('runs_org_created').on(t.orgId, t.id),
    index('runs_automation').on(t.automationId, t.id),
    // Partial: most runs have no parent.
    index('runs_parent').on(t.parentRunId, t.step).where(sql`${t.parentRunId} is not null`),
    // A workflow decides each step (and each forEach item) once per attempt: a second
    // decision, from another node or a replayed completion, fails on this index instead of
    // starting the step twice.
    uniqueIndex('runs_workflow_decision')
      .on(t.parentRunId, t.parentAttempt, t.step, sql`coalesce(${t.stepItem}, -1)`)
      .where(sql`${t.parentAttempt} is not null`),
  ],
)

/**
 * The hot queue: one narrow row per run that is not final yet (QUEUED, WAITING or
 * RUNNING), mirroring the runs columns that find work, and deleted when the run ends.
 * Its partial indexes stay as small as the live work, while runs keeps the history
 * with indexes no state change touches. Every engine statement that changes a run's
 * state changes its row here in the same statement (engine/run-queue.ts).
 */
export const runQueue = pgTable(
  'run_queue',
  {
    runId: int8('run_id')
      .primaryKey()
      .references(() => runs.id, { onDelete: 'cascade' }),
    orgId: uuid('org_id').notNull(),
    state: text('state').notNull(),
    priority: integer('priority').notNull(),
    runAt: timestamptz('run_at').notNull(),
    mutexName: text('mutex_name'),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamptz('lease_expires_at'),
    deadlineAt: timestamptz('deadline_at'),
  },
  (t) => [
    // The claim scans only this partial index.
    index('run_queue_claimable').on(t.priority, t.runAt, t.runId).where(sql`${t.state} = 'QUEUED'`),
    index('run_queue_leased')
      .on(t.leaseExpiresAt)
      .where(sql`${t.state} = 'RUNNING' and ${t.leaseOwner} is not null`),
    index('run_queue_deadline')
      .on(t.deadlineAt)
      .where(sql`${t.state} = 'RUNNING' and ${t.deadlineAt} is not null`),
    index('run_queue_waiting').on(t.orgId, t.mutexName, t.runId).where(sql`${t.state} = 'WAITING'`),
  ],
)

/**
 * Attempts of a run that were superseded (retried after a failure, or lost with
 * their worker), each with its own outcome. The last attempt is the run row itself,
 * so a run that succeeds at once costs no row here.
 */
export const runAttempts = pgTable(
  'run_attempts',
  {
    runId: int8('run_id').notNull(),
    attempt: integer('attempt').notNull(),
    orgId: uuid('org_id').notNull(),
    state: text('state').notNull(),
    worker: text('worker'),
    startedAt: timestamptz('started_at'),
    finishedAt: timestamptz('finished_at').notNull().defaultNow(),
    outputs: jsonb('outputs'),
    error: text('error'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.attempt] })],
)

export const runLogs = pgTable(
  'run_logs',
  {
    id: int8serial('id').primaryKey(),
    runId: int8('run_id').notNull(),
    orgId: uuid('org_id').notNull(),
    at: timestamptz('at').notNull().defaultNow(),
    level: text('level').notNull(),
    message: text('message').notNull(),
  },
  (t) => [index('run_logs_run').on(t.runId, t.id)],
)

/** Holder of a named mutex; waiters are runs in state WAITING with the same name. */
export const mutexes = pgTable(
  'mutexes',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    holderRunId: int8('holder_run_id'),
    acquiredAt: timestamptz('acquired_at'),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.name] })],
)
