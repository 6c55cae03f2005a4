/**
 * Trigger terminology (see shared/DESIGN.md).
 *
 * - Trigger: a row that starts its automation without a person. Enabled or
 *   not, and subject to the automation's "auto-triggers" switch.
 * - Tick: one due time of a CRON trigger. Its time is its fire key: a tick is
 *   fired at most once, whichever scheduler gets to it.
 * - Cursor (`next_fire_at`): the next tick not yet handled. A scheduler that
 *   was down finds the cursor in the past; what it does with the ticks it
 *   missed is the missed-tick policy.
 * - Late tick: handled after its time but within the misfire window; it fires
 *   and, beyond `lateMs`, is recorded as a LATE event.
 * - Missed tick: its time is older than the misfire window (no scheduler ran):
 *   SKIP records it, ONCE fires one run for all of them, ALL fires each.
 * - Overlap: a tick comes while the trigger's previous run is still active:
 *   SKIP records and drops it, QUEUE keeps one tick waiting until that run
 *   ends, ALLOW fires anyway.
 * - Evaluation: one look of a polling trigger (DATASET_CHANGE, SQL_CHANGE,
 *   CODE) at the world, every `intervalSeconds`, under a lease so only one
 *   scheduler evaluates a trigger at a time.
 * - Trigger event: a stored record of something a user should see on the
 *   automation: late, missed or skipped ticks, changes seen, errors, fires.
 */

export const TriggerType = {
  CRON: 'CRON',
  WEBHOOK: 'WEBHOOK',
  AFTER_AUTOMATION: 'AFTER_AUTOMATION',
  DATASET_CHANGE: 'DATASET_CHANGE',
  SQL_CHANGE: 'SQL_CHANGE',
  CODE: 'CODE',
} as const
export type TriggerType = (typeof TriggerType)[keyof typeof TriggerType]
export const POLLING_TYPES: readonly TriggerType[] = ['DATASET_CHANGE', 'SQL_CHANGE', 'CODE']

export const MissedTickPolicy = { SKIP: 'SKIP', ONCE: 'ONCE', ALL: 'ALL' } as const
export type MissedTickPolicy = (typeof MissedTickPolicy)[keyof typeof MissedTickPolicy]

export const OverlapPolicy = { SKIP: 'SKIP', QUEUE: 'QUEUE', ALLOW: 'ALLOW' } as const
export type OverlapPolicy = (typeof OverlapPolicy)[keyof typeof OverlapPolicy]

/** Which outcomes of the watched automation fire an AFTER_AUTOMATION trigger. */
export const AfterOutcome = { SUCCESS: 'SUCCESS', FAILURE: 'FAILURE', ANY: 'ANY' } as const
export type AfterOutcome = (typeof AfterOutcome)[keyof typeof AfterOutcome]

export const FingerprintMode = { ROW_COUNT_AND_MAX: 'ROW_COUNT_AND_MAX', TABLE_STATS: 'TABLE_STATS' } as const
export type FingerprintMode = (typeof FingerprintMode)[keyof typeof FingerprintMode]

export const TriggerEventKind = {
  /** A non-CRON trigger fired (on-time CRON ticks and webhook calls are their runs). */
  FIRED: 'FIRED',
  LATE: 'LATE',
  MISSED: 'MISSED',
  /** A missed tick fired anyway (policy ONCE or ALL). */
  CAUGHT_UP: 'CAUGHT_UP',
  /** Not fired: the previous run was active (overlap SKIP), or the mutex was busy (policy SKIP). */
  SKIPPED: 'SKIPPED',
  /** Waiting for the previous run to end (overlap QUEUE). */
  QUEUED: 'QUEUED',
  /** First evaluation of a polling trigger: the baseline was recorded, nothing fired. */
  RECORDED: 'RECORDED',
  /** A change was seen; the trigger waits out its grace delay. */
  CHANGED: 'CHANGED',
  ERROR: 'ERROR',
} as const
export type TriggerEventKind = (typeof TriggerEventKind)[keyof typeof TriggerEventKind]

/** A row of `triggers` as SQL returns it. */
export interface TriggerRow {
  id: string
  org_id: string
  automation_id: string
  type: TriggerType
  enabled: boolean
  config: Record<string, unknown>
  parameters: Record<string, unknown>
  token_prefix: string | null
  watch_automation_id: string | null
  next_fire_at: Date | null
  fire_early: boolean
  pending_fire_at: Date | null
  next_check_at: Date | null
  lease_owner: string | null
  lease_until: Date | null
  state: Record<string, unknown> | null
  last_evaluated_at: Date | null
  last_fired_at: Date | null
  last_run_id: string | null
  created_by: string | null
  created_at: Date
  updated_at: Date
}

export const TRIGGER_COLUMNS = `id, org_id, automation_id, type, enabled, config, parameters, token_prefix,
  watch_automation_id, next_fire_at, fire_early, pending_fire_at, next_check_at, lease_owner, lease_until,
  state, last_evaluated_at, last_fired_at, last_run_id, created_by, created_at, updated_at`

/** The same list qualified by a table alias, for joins. */
export const triggerColumnsOf = (alias: string): string =>
  TRIGGER_COLUMNS.split(',')
    .map((c) => `${alias}.${c.trim()}`)
    .join(', ')

/** NOTIFY channel: triggers changed (schedulers wake, hook caches reload). Payload unused. */
export const TRIGGER_CHANNEL = 'sy_trigger'
