import { userOf } from '../accounts/graphql'
import { getVisibleAutomation } from '../automations/service'
import { ValidationError } from '../errors'
import { builder } from '../graphql/builder'
import type { Context } from '../graphql/context'
import { COMMON_ERRORS } from '../graphql/errors'
import { isRunId, isUuid } from '../validation'
import { cronProblem, ticksFrom, timezoneProblem } from './cron'
import { listEvents } from './events'
import {
  AutomationType,
  TriggerEventObject,
  TriggerObject,
  type TriggerPayload,
  TriggerPayloadObject,
  TriggerTypeEnum,
} from './graphql-types'
import {
  type TriggerResult,
  createTrigger,
  deleteTrigger,
  rotateWebhookToken,
  setAutoTriggers,
  updateTrigger,
} from './service'
import { autoTriggersOn, getTrigger, listTriggers, nextScheduledTicks } from './store'

builder.objectFields(AutomationType, (t) => ({
  triggers: t.field({
    type: [TriggerObject],
    authScopes: { user: true },
    resolve: (a, _args, ctx) => listTriggers(ctx.services.db, a.org_id, a.id),
  }),
  nextScheduledAt: t.field({
    type: 'DateTime',
    nullable: true,
    description:
      'The next tick of its enabled CRON triggers (null when nothing is scheduled or triggers are off)',
    // A list of automations asks once per request, not once per row.
    resolve: async (a, _args, ctx) => {
      const key = `next-scheduled:${a.org_id}`
      let ticks = ctx.memo.get(key) as Promise<Map<string, Date>> | undefined
      if (!ticks) {
        ticks = nextScheduledTicks(ctx.services.db, a.org_id)
        ctx.memo.set(key, ticks)
      }
      return (await ticks).get(a.id) ?? null
    },
  }),
  autoTriggers: t.boolean({
    description: 'Off: none of its triggers fires (the automation-level switch)',
    resolve: (a, _args, ctx) => autoTriggersOn(ctx.services.db, a.id),
  }),
  triggerEvents: t.field({
    type: [TriggerEventObject],
    authScopes: { user: true },
    description: 'Late, missed and skipped ticks, changes seen, errors: newest first',
    args: {
      first: t.arg.int({ required: false, defaultValue: 50 }),
      before: t.arg.id({ required: false, description: 'An event id: older events only' }),
      triggerId: t.arg.id({ required: false }),
    },
    resolve: (a, args, ctx) =>
      listEvents(ctx.services.db, {
        orgId: a.org_id,
        automationId: a.id,
        triggerId: args.triggerId && isUuid(String(args.triggerId)) ? String(args.triggerId) : null,
        beforeId: args.before && isRunId(String(args.before)) ? String(args.before) : null,
        limit: Math.min(Math.max(args.first ?? 50, 1), 500),
      }),
  }),
}))

const TriggerInput = builder.inputType('TriggerInput', {
  fields: (t) => ({
    type: t.field({ type: TriggerTypeEnum }),
    enabled: t.boolean({ required: false }),
    config: t.field({
      type: 'JSON',
      required: false,
      description:
        'CRON {cron, timezone, missedTickPolicy, overlapPolicy}; WEBHOOK {bodyParameter, rateLimitPerMinute}; AFTER_AUTOMATION {automationId, on}; DATASET_CHANGE {datasource, table, fingerprint, column, intervalSeconds, graceSeconds, recheck}; SQL_CHANGE {datasource, query, intervalSeconds} (datasource: "warehouse", the default, or a PostgreSQL datasource id, read with the run-as user\'s grants); CODE {language, code, intervalSeconds, timeoutMs}',
    }),
    parameters: t.field({ type: 'JSON', required: false }),
  }),
})

const TriggerUpdateInput = builder.inputType('TriggerUpdateInput', {
  fields: (t) => ({
    enabled: t.boolean({ required: false }),
    config: t.field({ type: 'JSON', required: false, description: 'Replaces the whole config' }),
    parameters: t.field({ type: 'JSON', required: false }),
  }),
})

/** GraphQL gives null for omitted optional fields; the validators want them absent. */
const present = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v != null))

const payload = (ctx: Context, r: TriggerResult): TriggerPayload => ({
  ...r,
  url: r.token ? `${ctx.services.config.publicUrl}/hooks/${r.token}` : null,
})

builder.queryField('trigger', (t) =>
  t.field({
    type: TriggerObject,
    nullable: true,
    authScopes: { user: true },
    args: { id: t.arg.id() },
    resolve: async (_root, { id }, ctx) => {
      const viewer = userOf(ctx)
      const row = isUuid(String(id)) ? await getTrigger(ctx.services.db, viewer.orgId, String(id)) : undefined
      if (!row) return null
      return (await getVisibleAutomation(ctx, row.automation_id).then(
        () => true,
        () => false,
      ))
        ? row
        : null
    },
  }),
)

const CronPreview = builder.objectRef<{ times: Date[] }>('CronPreview').implement({
  fields: (t) => ({ times: t.field({ type: ['DateTime'], resolve: (p) => p.times }) }),
})

builder.queryField('cronPreview', (t) =>
  t.field({
    type: CronPreview,
    authScopes: { user: true },
    description: 'Checks a cron pattern and shows its next times, as a CRON trigger would fire them',
    errors: { types: [ValidationError], directResult: true },
    args: {
      cron: t.arg.string(),
      timezone: t.arg.string({ required: false, defaultValue: 'UTC' }),
      count: t.arg.int({ required: false, defaultValue: 5 }),
    },
    resolve: (_root, args) => {
      const tz = args.timezone ?? 'UTC'
      const now = new Date()
      const problem = timezoneProblem(tz) ?? cronProblem(args.cron, tz, now)
      if (problem)
        throw new ValidationError(problem, [
          { path: timezoneProblem(tz) ? 'timezone' : 'cron', message: problem },
        ])
      return {
        times: ticksFrom(
          args.cron,
          tz,
          new Date(now.getTime() + 1),
          Math.min(Math.max(args.count ?? 5, 1), 100),
        ),
      }
    },
  }),
)

builder.mutationField('createTrigger', (t) =>
  t.field({
    type: TriggerPayloadObject,
    authScopes: { editor: true },
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { automationId: t.arg.id(), input: t.arg({ type: TriggerInput }) },
    resolve: async (_root, { automationId, input }, ctx) =>
      payload(ctx, await createTrigger(ctx, String(automationId), present(input))),
  }),
)

builder.mutationField('updateTrigger', (t) =>
  t.field({
    type: TriggerPayloadObject,
    authScopes: { editor: true },
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { id: t.arg.id(), input: t.arg({ type: TriggerUpdateInput }) },
    resolve: async (_root, { id, input }, ctx) =>
      payload(ctx, await updateTrigger(ctx, String(id), present(input))),
  }),
)

builder.mutationField('deleteTrigger', (t) =>
  t.field({
    type: TriggerObject,
    authScopes: { editor: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'trigger' } },
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => deleteTrigger(ctx, String(id)),
  }),
)

builder.mutationField('rotateWebhookToken', (t) =>
  t.field({
    type: TriggerPayloadObject,
    authScopes: { editor: true },
    description: 'A new secret URL for a WEBHOOK trigger; the old one stops working at once',
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { triggerId: t.arg.id() },
    resolve: async (_root, { triggerId }, ctx) =>
      payload(ctx, await rotateWebhookToken(ctx, String(triggerId))),
  }),
)

builder.mutationField('setAutoTriggers', (t) =>
  t.field({
    type: AutomationType,
    authScopes: { editor: true },
    description: "Switches all of an automation's triggers on or off at once",
    errors: { types: COMMON_ERRORS, dataField: { name: 'automation' } },
    args: { automationId: t.arg.id(), enabled: t.arg.boolean() },
    resolve: (_root, { automationId, enabled }, ctx) => setAutoTriggers(ctx, String(automationId), enabled),
  }),
)
