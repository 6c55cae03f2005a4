import { userOf } from '../accounts/graphql'
import { builder } from '../graphql/builder'
import type { Context } from '../graphql/context'
import { COMMON_ERRORS } from '../graphql/errors'
import { inputJsonSchema } from '../kinds/json-schema'
import { CHANNELS } from './channels'
import { type DeliveryServices, type SendOutcome, testConnection } from './deliver'
import { CHANNEL_TYPES } from './domain'
import { lastRunSnapshot } from './last-run'
import type { ConnectionRow } from './rows'
import { createConnection, deleteConnection, getConnection, listConnections, updateConnection } from './store'

// Channel connections in the API: the channels there are, an organization's connections of
// them (admin-only settings), and testing one. Reporters that send through them: ./graphql.ts.

export const ChannelTypeEnum = builder.enumType('ChannelType', { values: CHANNEL_TYPES })

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
    connectionSchema: t.field({
      type: 'JSON',
      description: "A connection's settings as JSON Schema (the dashboard draws its form from it)",
      resolve: (c) => inputJsonSchema(CHANNELS[c.type].connectionSchema),
    }),
    targetSchema: t.field({
      type: 'JSON',
      description: "A reporter's target on this channel as JSON Schema",
      resolve: (c) => inputJsonSchema(CHANNELS[c.type].targetSchema),
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

interface TestResult {
  ok: boolean
  responseCode: number | null
  detail: string | null
  error: string | null
}
export const TestResultType = builder.objectRef<TestResult>('ReporterTestResult').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    responseCode: t.exposeInt('responseCode', { nullable: true }),
    detail: t.exposeString('detail', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
  }),
})
export const testResult = (o: SendOutcome): TestResult =>
  o.kind === 'SENT'
    ? { ok: true, responseCode: o.sent.responseCode, detail: o.sent.detail, error: null }
    : o.kind === 'SKIPPED'
      ? { ok: false, responseCode: null, detail: o.reason, error: null }
      : { ok: false, responseCode: o.responseCode, detail: null, error: o.error }

const ConnectionInputType = builder.inputType('ChannelConnectionInput', {
  fields: (t) => ({
    name: t.string(),
    type: t.field({ type: ChannelTypeEnum }),
    config: t.field({ type: 'JSON', required: false }),
  }),
})

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
        ctx.services.db,
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
