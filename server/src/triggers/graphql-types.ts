import { AutomationType } from '../automations/graphql'
import { getVisibleAutomation } from '../automations/service'
import { builder } from '../graphql/builder'
import type { Context } from '../graphql/context'
import { RunType } from '../runs/graphql'
import { getVisibleRun } from '../runs/service'
import type { CronConfig } from './config'
import { ticksFrom } from './cron'
import { TriggerEventKind, type TriggerRow, TriggerType } from './domain'
import type { TriggerEventRow } from './events'
import { autoTriggersOn } from './store'

export const TriggerTypeEnum = builder.enumType('TriggerType', { values: Object.values(TriggerType) })
const TriggerEventKindEnum = builder.enumType('TriggerEventKind', { values: Object.values(TriggerEventKind) })

/** Whether the trigger can fire at all: enabled, and its automation's auto-triggers on (memoised per request). */
async function live(ctx: Context, t: TriggerRow): Promise<boolean> {
  if (!t.enabled) return false
  const key = `autoTriggers:${t.automation_id}`
  let p = ctx.memo.get(key) as Promise<boolean> | undefined
  if (!p) {
    p = autoTriggersOn(ctx.services.db, t.automation_id)
    ctx.memo.set(key, p)
  }
  return p
}

export const TriggerObject = builder.objectRef<TriggerRow>('Trigger').implement({
  description: 'Starts its automation without a person: a schedule, a webhook, another automation, a change',
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.field({ type: TriggerTypeEnum, resolve: (r) => r.type }),
    enabled: t.exposeBoolean('enabled'),
    automationId: t.exposeID('automation_id'),
    config: t.field({
      type: 'JSON',
      description: 'Type-specific settings, as validated',
      resolve: (r) => r.config,
    }),
    parameters: t.field({
      type: 'JSON',
      description: 'Run parameters this trigger passes',
      resolve: (r) => r.parameters,
    }),
    webhookTokenPrefix: t.exposeString('token_prefix', {
      nullable: true,
      description: 'WEBHOOK: the first characters of the secret, to tell tokens apart',
    }),
    watchedAutomation: t.field({
      type: AutomationType,
      nullable: true,
      description: 'AFTER_AUTOMATION: the automation it follows (null if deleted or not visible)',
      resolve: (r, _a, ctx) =>
        r.watch_automation_id ? getVisibleAutomation(ctx, r.watch_automation_id).catch(() => null) : null,
    }),
    nextFireTimes: t.field({
      type: ['DateTime'],
      description:
        'CRON: the next ticks, from the first not yet handled (a time in the past means it is overdue); empty when it cannot fire',
      args: { count: t.arg.int({ required: false, defaultValue: 5 }) },
      resolve: async (r, args, ctx) => {
        if (r.type !== 'CRON' || !r.next_fire_at || !(await live(ctx, r))) return []
        const c = r.config as CronConfig
        return ticksFrom(
          c.cron,
          c.timezone,
          new Date(r.next_fire_at),
          Math.min(Math.max(args.count ?? 5, 0), 100),
        )
      },
    }),
    nextEvaluationAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'DATASET_CHANGE, SQL_CHANGE, CODE: when it looks next',
      resolve: async (r, _a, ctx) => (r.next_check_at && (await live(ctx, r)) ? r.next_check_at : null),
    }),
    waitingTickAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'CRON with overlap QUEUE: a tick waiting for the previous run to end',
      resolve: (r) => r.pending_fire_at,
    }),
    lastEvaluatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.last_evaluated_at }),
    lastFiredAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.last_fired_at }),
    lastRun: t.field({
      type: RunType,
      nullable: true,
      resolve: (r, _a, ctx) => (r.last_run_id ? getVisibleRun(ctx, r.last_run_id).catch(() => null) : null),
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (r) => r.updated_at }),
  }),
})

export const TriggerEventObject = builder.objectRef<TriggerEventRow>('TriggerEvent').implement({
  description: 'Something about a trigger worth seeing: a late, missed or skipped tick, a change, an error',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    kind: t.field({ type: TriggerEventKindEnum, resolve: (e) => e.kind }),
    message: t.exposeString('message'),
    triggerId: t.exposeID('trigger_id', { nullable: true }),
    runId: t.exposeID('run_id', { nullable: true }),
    scheduledAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'The tick concerned',
      resolve: (e) => e.scheduled_at,
    }),
  }),
})

export interface TriggerPayload {
  trigger: TriggerRow
  token: string | null
  url: string | null
}

export const TriggerPayloadObject = builder.objectRef<TriggerPayload>('TriggerPayload').implement({
  fields: (t) => ({
    trigger: t.field({ type: TriggerObject, resolve: (p) => p.trigger }),
    webhookToken: t.exposeString('token', {
      nullable: true,
      description: 'WEBHOOK: the secret, shown once (on create and rotate)',
    }),
    webhookUrl: t.exposeString('url', { nullable: true, description: 'WEBHOOK: POST here (shown once)' }),
  }),
})

export { AutomationType, RunType }
