import { userOf } from '../accounts/graphql'
import { atLeast } from '../auth/permissions'
import { automationPermission } from '../automations/access'
import { AutomationType } from '../automations/graphql'
import { getVisibleAutomation } from '../automations/service'
import { RUN_COLUMNS, type RunRow } from '../engine/run-row'
import { ForbiddenError } from '../errors'
import { builder } from '../graphql/builder'
import type { Context } from '../graphql/context'
import { COMMON_ERRORS } from '../graphql/errors'
import { RunType } from '../runs/graphql'
import { CHANNELS } from './channels'
import { type DeliveryServices, type SendOutcome, sendReport, testConnection } from './deliver'
import {
  CHANNEL_TYPES,
  DELIVERY_STATES,
  REPORTER_CONDITIONS,
  REPORTER_EVENTS,
  type RunSnapshot,
} from './domain'
import { snapshotOf } from './enqueue'
import { previewReporter } from './preview'
import { DELIVERIES_OF_RUN } from './queue'
import type { ConnectionRow, DeliveryRow, ReporterRow } from './rows'
import {
  createConnection,
  deleteConnection,
  deleteReporterRow,
  getConnection,
  getReporter,
  insertReporter,
  listConnections,
  listReporters,
  updateConnection,
  updateReporterRow,
  validateReporter,
} from './store'

const ChannelTypeEnum = builder.enumType('ChannelType', { values: CHANNEL_TYPES })
const ReporterEventEnum = builder.enumType('ReporterEvent', { values: REPORTER_EVENTS })
const ReporterConditionEnum = builder.enumType('ReporterCondition', { values: REPORTER_CONDITIONS })
const DeliveryStateEnum = builder.enumType('DeliveryState', { values: DELIVERY_STATES })

export const deliveryServices = (ctx: Context): DeliveryServices => ({
  db: ctx.services.db,
  egress: ctx.services.data.egress,
  warehouse: ctx.services.data.warehouse,
  secretsKey: ctx.services.data.secretsKey,
  publicUrl: ctx.services.config.publicUrl,
})

const ChannelInfoType = builder.objectRef<{ type: (typeof CHANNEL_TYPES)[number] }>('ChannelInfo').implement({
  description: 'A channel reporters can send through, with the template a new reporter starts with',
  fields: (t) => ({
    type: t.field({ type: ChannelTypeEnum, resolve: (c) => c.type }),
    defaultTemplate: t.string({ resolve: (c) => CHANNELS[c.type].defaultTemplate }),
    templateLanguage: t.string({
      description: 'Liquid; HTML means every output is escaped (`| raw` opts out)',
      resolve: (c) => (CHANNELS[c.type].templateMode === 'html' ? 'LIQUID_HTML' : 'LIQUID'),
    }),
  }),
})

export const ChannelConnectionType = builder.objectRef<ConnectionRow>('ChannelConnection').implement({
  description:
    'An organization connection of a channel (SMTP server, Slack, Teams, webhook, Twilio, dataset); credentials are $' +
    '{secret.NAME} references',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    type: t.field({ type: ChannelTypeEnum, resolve: (c) => c.type as (typeof CHANNEL_TYPES)[number] }),
    config: t.field({
      type: 'JSON',
      authScopes: { admin: true },
      description: 'Settings; secrets appear only as their $' + '{secret.NAME} references',
      resolve: (c) => c.config,
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (c) => c.updated_at }),
  }),
})

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

interface TestResult {
  ok: boolean
  responseCode: number | null
  detail: string | null
  error: string | null
}
const TestResultType = builder.objectRef<TestResult>('ReporterTestResult').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    responseCode: t.exposeInt('responseCode', { nullable: true }),
    detail: t.exposeString('detail', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
  }),
})
const testResult = (o: SendOutcome): TestResult =>
  o.kind === 'SENT'
    ? { ok: true, responseCode: o.sent.responseCode, detail: o.sent.detail, error: null }
    : o.kind === 'SKIPPED'
      ? { ok: false, responseCode: null, detail: o.reason, error: null }
      : { ok: false, responseCode: o.responseCode, detail: null, error: o.error }

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

const ConnectionInputType = builder.inputType('ChannelConnectionInput', {
  fields: (t) => ({
    name: t.string(),
    type: t.field({ type: ChannelTypeEnum }),
    config: t.field({ type: 'JSON', required: false }),
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

/** The last ended run of an automation as a snapshot, or a sample when it never ran. */
export async function lastRunSnapshot(
  ctx: Context,
  orgId: string,
  automationId: string,
  runId?: string | null,
) {
  const [run] = await ctx.services.db.query<RunRow>(
    `select ${RUN_COLUMNS} from runs where automation_id = $1 and org_id = $2
       and ($3::int8 is null or id = $3::int8) and state in ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')
     order by id desc limit 1`,
    [automationId, orgId, runId && /^[1-9][0-9]{0,17}$/.test(runId) ? runId : null],
  )
  if (run) return { runId: run.id, snapshot: snapshotOf(run) }
  const now = new Date().toISOString()
  const sample: RunSnapshot = {
    id: '0',
    org_id: orgId,
    automation_id: automationId,
    state: 'SUCCEEDED',
    attempt: 1,
    max_attempts: 1,
    error: null,
    trigger_source: 'MANUAL',
    triggered_by: null,
    parent_run_id: null,
    version: 1,
    parameters: {},
    outputs: {},
    created_at: now,
    started_at: now,
    finished_at: now,
  }
  return { runId: null, snapshot: sample }
}

builder.queryField('channelTypes', (t) =>
  t.field({
    type: [ChannelInfoType],
    authScopes: { user: true },
    resolve: () => CHANNEL_TYPES.map((type) => ({ type })),
  }),
)

builder.queryField('channelConnections', (t) =>
  t.field({
    type: [ChannelConnectionType],
    authScopes: { editor: true },
    description:
      'The organization channel connections (editors pick one for a reporter; admins see settings)',
    resolve: (_r, _a, ctx) => listConnections(ctx.services.db, userOf(ctx).orgId),
  }),
)

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

builder.mutationField('createChannelConnection', (t) =>
  t.field({
    type: ChannelConnectionType,
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'connection' } },
    args: { input: t.arg({ type: ConnectionInputType }) },
    resolve: (_r, { input }, ctx) => {
      const v = userOf(ctx)
      return createConnection(ctx.services.db, v.orgId, v.userId, input)
    },
  }),
)

builder.mutationField('updateChannelConnection', (t) =>
  t.field({
    type: ChannelConnectionType,
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'connection' } },
    args: { id: t.arg.id(), input: t.arg({ type: ConnectionInputType }) },
    resolve: (_r, { id, input }, ctx) =>
      updateConnection(ctx.services.db, userOf(ctx).orgId, String(id), input),
  }),
)

builder.mutationField('deleteChannelConnection', (t) =>
  t.field({
    type: ChannelConnectionType,
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'connection' } },
    args: { id: t.arg.id() },
    resolve: (_r, { id }, ctx) => deleteConnection(ctx.services.db, userOf(ctx).orgId, String(id)),
  }),
)

builder.mutationField('testChannelConnection', (t) =>
  t.field({
    type: TestResultType,
    authScopes: { admin: true },
    description:
      'Logs in (SMTP, Slack bot, Twilio) or posts a test message (webhooks) and reports what happened',
    errors: { types: COMMON_ERRORS, dataField: { name: 'result' } },
    args: { id: t.arg.id(), target: t.arg({ type: 'JSON', required: false }) },
    resolve: async (_r, { id, target }, ctx) => {
      const connection = await getConnection(ctx.services.db, userOf(ctx).orgId, String(id))
      const { snapshot } = await lastRunSnapshot(
        ctx,
        connection.org_id,
        '00000000-0000-0000-0000-000000000000',
      )
      return testResult(
        await testConnection(deliveryServices(ctx), {
          connection,
          target: target ?? undefined,
          snapshot,
          signal: AbortSignal.timeout(30_000),
          timeoutMs: 15_000,
        }),
      )
    },
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
        ctx,
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
        ctx,
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
