import type { Queryable } from '../db/database'
import type { CronConfig } from './config'
import { nextTick } from './cron'
import { POLLING_TYPES, TRIGGER_CHANNEL, TRIGGER_COLUMNS, type TriggerRow, type TriggerType } from './domain'

/** Where the scheduler starts from after a save: the next tick after now, or an evaluation now. */
export interface Schedule {
  next_fire_at: Date | null
  fire_early: boolean
  next_check_at: Date | null
}

/**
 * A saved or re-enabled trigger starts fresh from `now`: ticks that fell while
 * it was off are not "missed" (nobody wanted them), and a changed query or
 * table gets a new baseline.
 */
export function freshSchedule(type: TriggerType, config: Record<string, unknown>, now: Date): Schedule {
  if (type === 'CRON') {
    const c = config as CronConfig
    return {
      next_fire_at: nextTick(c.cron, c.timezone, now),
      fire_early: c.overlapPolicy === 'ALLOW',
      next_check_at: null,
    }
  }
  return { next_fire_at: null, fire_early: false, next_check_at: POLLING_TYPES.includes(type) ? now : null }
}

export interface NewTrigger {
  orgId: string
  automationId: string
  type: TriggerType
  enabled: boolean
  config: Record<string, unknown>
  parameters: Record<string, unknown>
  tokenHash: string | null
  tokenPrefix: string | null
  watchAutomationId: string | null
  createdBy: string
  schedule: Schedule
}

export async function insertTrigger(tx: Queryable, t: NewTrigger): Promise<TriggerRow> {
  const [row] = await tx.query<TriggerRow>(
    `insert into triggers (org_id, automation_id, type, enabled, config, parameters, token_hash, token_prefix,
       watch_automation_id, created_by, next_fire_at, fire_early, next_check_at)
     values ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11, $12, $13) returning ${TRIGGER_COLUMNS}`,
    [
      t.orgId,
      t.automationId,
      t.type,
      t.enabled,
      JSON.stringify(t.config),
      JSON.stringify(t.parameters),
      t.tokenHash,
      t.tokenPrefix,
      t.watchAutomationId,
      t.createdBy,
      t.schedule.next_fire_at,
      t.schedule.fire_early,
      t.schedule.next_check_at,
    ],
  )
  return row!
}

/**
 * Replaces what a user edits. With a schedule the trigger restarts from it and
 * drops its evaluation state and waiting tick; without, timing is kept.
 */
export async function rewriteTrigger(
  tx: Queryable,
  id: string,
  t: Pick<NewTrigger, 'enabled' | 'config' | 'parameters' | 'watchAutomationId'>,
  schedule: Schedule | null,
): Promise<TriggerRow> {
  const restart = schedule
    ? `, next_fire_at = $6, fire_early = $7, next_check_at = $8, state = null, pending_fire_at = null,
       lease_owner = null, lease_until = null`
    : ''
  const [row] = await tx.query<TriggerRow>(
    `update triggers set enabled = $2, config = $3::jsonb, parameters = $4::jsonb, watch_automation_id = $5,
       updated_at = now()${restart}
     where id = $1 returning ${TRIGGER_COLUMNS}`,
    [
      id,
      t.enabled,
      JSON.stringify(t.config),
      JSON.stringify(t.parameters),
      t.watchAutomationId,
      ...(schedule ? [schedule.next_fire_at, schedule.fire_early, schedule.next_check_at] : []),
    ],
  )
  return row!
}

/** A trigger of the organization, locked when `forUpdate`. */
export async function getTrigger(
  q: Queryable,
  orgId: string,
  id: string,
  forUpdate = false,
): Promise<TriggerRow | undefined> {
  const [row] = await q.query<TriggerRow>(
    `select ${TRIGGER_COLUMNS} from triggers where id = $1 and org_id = $2${forUpdate ? ' for update' : ''}`,
    [id, orgId],
  )
  return row
}

export function listTriggers(q: Queryable, orgId: string, automationId: string): Promise<TriggerRow[]> {
  return q.query<TriggerRow>(
    `select ${TRIGGER_COLUMNS} from triggers where org_id = $1 and automation_id = $2 order by created_at, id`,
    [orgId, automationId],
  )
}

export async function autoTriggersOn(q: Queryable, automationId: string): Promise<boolean> {
  const [row] = await q.query<{ auto_triggers: boolean }>(
    'select auto_triggers from trigger_settings where automation_id = $1',
    [automationId],
  )
  return row?.auto_triggers ?? true
}

export async function setAutoTriggers(tx: Queryable, orgId: string, automationId: string, on: boolean) {
  await tx.query(
    `insert into trigger_settings (automation_id, org_id, auto_triggers) values ($1, $2, $3)
     on conflict (automation_id) do update set auto_triggers = excluded.auto_triggers, updated_at = now()`,
    [automationId, orgId, on],
  )
}

/** Tells every node that triggers changed: schedulers wake, AFTER_AUTOMATION caches reload (at commit). */
export async function notifyTriggersChanged(tx: Queryable): Promise<void> {
  await tx.query('select pg_notify($1, $2)', [TRIGGER_CHANNEL, ''])
}

/**
 * The earliest pending tick of each automation's enabled CRON triggers (automations
 * whose triggers are switched off left out), for a whole organization in one query.
 */
export async function nextScheduledTicks(q: Queryable, orgId: string): Promise<Map<string, Date>> {
  const rows = await q.query<{ automation_id: string; at: Date }>(
    `select t.automation_id, min(t.next_fire_at) as at from triggers t
       left join trigger_settings s on s.automation_id = t.automation_id
      where t.org_id = $1 and t.type = 'CRON' and t.enabled and t.next_fire_at is not null
        and coalesce(s.auto_triggers, true)
      group by t.automation_id`,
    [orgId],
  )
  return new Map(rows.map((r) => [r.automation_id, r.at]))
}
