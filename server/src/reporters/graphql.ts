import { userOf } from '../accounts/graphql'
import { atLeast } from '../auth/permissions'
import { automationPermission } from '../automations/access'
import { AutomationType } from '../automations/graphql'
import { getVisibleAutomation } from '../automations/service'
import { ForbiddenError } from '../errors'
import { builder } from '../graphql/builder'
import type { Context } from '../graphql/context'
import { COMMON_ERRORS } from '../graphql/errors'
import { RunType } from '../runs/graphql'
import { ChannelConnectionType, TestResultType, deliveryServices, testResult } from './connections-graphql'
import { sendReport } from './deliver'
import { DELIVERY_STATES, REPORTER_CONDITIONS, REPORTER_EVENTS } from './domain'
import { lastRunSnapshot } from './last-run'
import { previewReporter } from './preview'
import { DELIVERIES_OF_RUN } from './queue'
import type { DeliveryRow, ReporterRow } from './rows'
import {
  deleteReporterRow,
  getConnection,
  getReporter,
  insertReporter,
  listReporters,
  updateReporterRow,
  validateReporter,
} from './store'

// Reporters in the API: an automation's reporters, their deliveries on a run, preview and
// test. The channel connections they send through: ./connections-graphql.ts.

const ReporterEventEnum = builder.enumType('ReporterEvent', { values: REPORTER_EVENTS })
const ReporterConditionEnum = builder.enumType('ReporterCondition', { values: REPORTER_CONDITIONS })
const DeliveryStateEnum = builder.enumType('DeliveryState', { values: DELIVERY_STATES })

export const ReporterType = builder.objectRef<ReporterRow>('Reporter').implement({
  description:
    'A message an automation sends on start or end, under a condition, through a channel connection',
  fields: (t) => ({
    id: t.exposeID('id'),
    automationId: t.exposeID('automation_id'),
    name: t.exposeString('name'),
    connection: t.field({
      type: ChannelConnectionType,
      resolve: (r, _a, ctx) => getConnection(ctx.services.db, r.org_id, r.connection_id),
    }),
    event: t.field({ type: ReporterEventEnum, resolve: (r) => r.event as 'START' | 'END' }),
    condition: t.field({
      type: ReporterConditionEnum,
      resolve: (r) => r.condition as (typeof REPORTER_CONDITIONS)[number],
    }),
    expression: t.exposeString('expression', { nullable: true }),
    template: t.exposeString('template'),
    target: t.field({ type: 'JSON', resolve: (r) => r.target }),
    enabled: t.exposeBoolean('enabled'),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (r) => r.updated_at }),
  }),
})

export const DeliveryType = builder
  .objectRef<DeliveryRow & { reporter_name?: string | null }>('Delivery')
  .implement({
    description:
      "One reporter message about a run: queued durably, retried, recorded with the receiver's answer",
    fields: (t) => ({
      id: t.exposeID('id'),
      runId: t.exposeID('run_id'),
      reporterId: t.exposeID('reporter_id', { nullable: true }),
      reporterName: t.string({ nullable: true, resolve: (d) => d.reporter_name ?? null }),
      channel: t.string({
        nullable: true,
        resolve: (d) => (d as { channel?: string | null }).channel ?? null,
      }),
      outcome: t.exposeString('outcome', { description: 'START, or the run outcome it reports' }),
      state: t.field({
        type: DeliveryStateEnum,
        resolve: (d) => d.state as (typeof DELIVERY_STATES)[number],
      }),
      attempts: t.exposeInt('attempts'),
      maxAttempts: t.exposeInt('max_attempts'),
      nextAttemptAt: t.field({
        type: 'DateTime',
        nullable: true,
        resolve: (d) => (d.state === 'QUEUED' ? d.next_attempt_at : null),
      }),
      responseCode: t.exposeInt('response_code', { nullable: true }),
      error: t.exposeString('error', { nullable: true }),
      detail: t.exposeString('detail', { nullable: true }),
      idempotencyKey: t.exposeString('idempotency_key'),
      createdAt: t.field({ type: 'DateTime', resolve: (d) => d.created_at }),
      deliveredAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.delivered_at }),
    }),
  })

const PreviewType = builder
  .objectRef<{
    runId: string | null
    body: string | null
    subject: string | null
    payload: unknown
    error: string | null
  }>('ReporterPreview')
  .implement({
    fields: (t) => ({
      runId: t.exposeID('runId', {
        nullable: true,
        description: 'The run rendered against (null: a sample run)',
      }),
      body: t.exposeString('body', { nullable: true }),
      subject: t.exposeString('subject', { nullable: true }),
      payload: t.field({
        type: 'JSON',
        nullable: true,
        description: 'What Slack or Teams receive',
        resolve: (p) => p.payload,
      }),
      error: t.exposeString('error', { nullable: true }),
    }),
  })

const ReporterInputType = builder.inputType('ReporterInput', {
  fields: (t) => ({
    name: t.string(),
    connectionId: t.id(),
    event: t.field({ type: ReporterEventEnum, required: false }),
    condition: t.field({ type: ReporterConditionEnum, required: false }),
    expression: t.string({ required: false }),
    template: t.string({ required: false, description: "Liquid; omitted: the channel's default" }),
    target: t.field({ type: 'JSON', required: false }),
    enabled: t.boolean({ required: false }),
  }),
})

/** The automation, when the viewer may edit it (reporters are part of what an editor sets up). */
async function editableAutomation(ctx: Context, id: string) {
  const a = await getVisibleAutomation(ctx, id)
  if (!atLeast(await automationPermission(ctx, a), 'EDIT'))
    throw new ForbiddenError('you may not edit this automation, so not its reporters')
  return a
}

builder.objectField(AutomationType, 'reporters', (t) =>
  t.field({
    type: [ReporterType],
    // Targets hold addresses and phone numbers: shown to those who may edit this automation
    // (an editor with only a VIEW grant on its folder sees none).
    authScopes: { editor: true },
    resolve: async (a, _args, ctx) =>
      atLeast(await automationPermission(ctx, a), 'EDIT') ? listReporters(ctx.services.db, a.id) : [],
  }),
)

builder.objectField(RunType, 'deliveries', (t) =>
  t.field({
    type: [DeliveryType],
    authScopes: { user: true },
    description: 'Reporter messages about this run, with their status, attempts and the receiver answer',
    resolve: (r, _a, ctx) =>
      ctx.services.db.query<DeliveryRow & { reporter_name: string | null; channel: string | null }>(
        `select d.*, coalesce(p.name, case when d.spec is not null then 'message step' end) as reporter_name,
                c.type as channel
           from (${DELIVERIES_OF_RUN}) d left join reporters p on p.id = d.reporter_id
           left join channel_connections c on c.id = coalesce(p.connection_id, (d.spec->>'connectionId')::uuid)
          order by d.id`,
        [r.id],
      ),
  }),
)

builder.mutationField('createReporter', (t) =>
  t.field({
    type: ReporterType,
    authScopes: { editor: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'reporter' } },
    args: { automationId: t.arg.id(), input: t.arg({ type: ReporterInputType }) },
    resolve: async (_r, { automationId, input }, ctx) => {
      const v = userOf(ctx)
      const a = await editableAutomation(ctx, String(automationId))
      const r = await validateReporter(ctx.services.db, v.orgId, input)
      return insertReporter(ctx.services.db, { ...r, orgId: v.orgId, automationId: a.id, by: v.userId })
    },
  }),
)

builder.mutationField('updateReporter', (t) =>
  t.field({
    type: ReporterType,
    authScopes: { editor: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'reporter' } },
    args: { id: t.arg.id(), input: t.arg({ type: ReporterInputType }) },
    resolve: async (_r, { id, input }, ctx) => {
      const v = userOf(ctx)
      const current = await getReporter(ctx.services.db, v.orgId, String(id))
      await editableAutomation(ctx, current.automation_id)
      const r = await validateReporter(ctx.services.db, v.orgId, input)
      return updateReporterRow(ctx.services.db, current.id, r)
    },
  }),
)

builder.mutationField('deleteReporter', (t) =>
  t.field({
    type: ReporterType,
    authScopes: { editor: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'reporter' } },
    args: { id: t.arg.id() },
    resolve: async (_r, { id }, ctx) => {
      const v = userOf(ctx)
      const current = await getReporter(ctx.services.db, v.orgId, String(id))
      await editableAutomation(ctx, current.automation_id)
      await deleteReporterRow(ctx.services.db, current)
      return current
    },
  }),
)

builder.mutationField('testReporter', (t) =>
  t.field({
    type: TestResultType,
    authScopes: { editor: true },
    description:
      'Sends the reporter message now, about the last ended run (or a sample), whatever its condition',
    errors: { types: COMMON_ERRORS, dataField: { name: 'result' } },
    args: { id: t.arg.id(), runId: t.arg.id({ required: false }) },
    resolve: async (_r, { id, runId }, ctx) => {
      const v = userOf(ctx)
      const reporter = await getReporter(ctx.services.db, v.orgId, String(id))
      await editableAutomation(ctx, reporter.automation_id)
      const connection = await getConnection(ctx.services.db, v.orgId, reporter.connection_id)
      const { snapshot } = await lastRunSnapshot(
        ctx.services.db,
        v.orgId,
        reporter.automation_id,
        runId ? String(runId) : null,
      )
      return testResult(
        await sendReport(deliveryServices(ctx), {
          reporter,
          connection,
          snapshot,
          deliveryKey: `test:${reporter.id}:${Date.now()}`,
          signal: AbortSignal.timeout(30_000),
          timeoutMs: 15_000,
          ignoreCondition: true,
        }),
      )
    },
  }),
)

builder.queryField('reporterPreview', (t) =>
  t.field({
    type: PreviewType,
    authScopes: { editor: true },
    description:
      'Renders a reporter (saved or not) against the last ended run of its automation, or the run given',
    errors: { types: COMMON_ERRORS, dataField: { name: 'preview' } },
    args: {
      automationId: t.arg.id(),
      input: t.arg({ type: ReporterInputType }),
      runId: t.arg.id({ required: false }),
    },
    resolve: async (_r, { automationId, input, runId }, ctx) => {
      const a = await editableAutomation(ctx, String(automationId))
      const { runId: used, snapshot } = await lastRunSnapshot(
        ctx.services.db,
        a.org_id,
        a.id,
        runId ? String(runId) : null,
      )
      return {
        runId: used,
        ...(await previewReporter(ctx.services.db, ctx.services.config.publicUrl, a.org_id, input, snapshot)),
      }
    },
  }),
)
