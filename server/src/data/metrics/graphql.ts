import { userOf } from '../../accounts/graphql'
import { builder } from '../../graphql/builder'
import { historyPage } from '../history-page'
import { visibleByAutomation } from '../visibility'
import { type MetricRow, latestMetrics, metricHistory } from './store'

const MetricValueType = builder.objectRef<MetricRow>('MetricValue').implement({
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Pass as `before` to page on through the history' }),
    value: t.float({ nullable: true, resolve: (m) => m.value }),
    computedAt: t.field({ type: 'DateTime', resolve: (m) => m.computedAt }),
    runId: t.exposeID('runId', { nullable: true }),
  }),
})

const MetricType = builder.objectRef<MetricRow>('Metric').implement({
  description: 'A metric of a table, with its latest value and its history',
  fields: (t) => ({
    datasourceId: t.exposeID('datasourceId', { description: '"warehouse" or a datasource id' }),
    table: t.exposeString('tableName'),
    name: t.exposeString('name'),
    value: t.float({ nullable: true, description: 'Latest value', resolve: (m) => m.value }),
    computedAt: t.field({ type: 'DateTime', resolve: (m) => m.computedAt }),
    automationId: t.exposeID('automationId', { nullable: true }),
    runId: t.exposeID('runId', { nullable: true }),
    history: t.field({
      type: [MetricValueType],
      description: 'Newest first; `before` (the id of the last value of a page) gives the next page',
      args: { first: t.arg.int({ required: false }), before: t.arg.id({ required: false }) },
      resolve: (m, args, ctx) =>
        metricHistory(
          ctx.services.db,
          { orgId: m.orgId, datasourceId: m.datasourceId, table: m.tableName, name: m.name },
          historyPage(args),
        ),
    }),
  }),
})

builder.queryField('metrics', (t) =>
  t.field({
    type: [MetricType],
    authScopes: { user: true },
    description: 'Latest value of each metric (of automations the viewer may see), optionally of one table',
    args: {
      datasourceId: t.arg.id({ required: false }),
      table: t.arg.string({ required: false }),
      name: t.arg.string({ required: false }),
    },
    resolve: async (_r, args, ctx) => {
      const rows = await latestMetrics(ctx.services.db, userOf(ctx).orgId, {
        datasourceId: args.datasourceId ? String(args.datasourceId) : null,
        table: args.table ?? null,
        name: args.name ?? null,
      })
      return visibleByAutomation(ctx, rows, (r) => r.automationId)
    },
  }),
)
