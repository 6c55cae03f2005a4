import { userOf } from '../../accounts/graphql'
import { builder } from '../../graphql/builder'
import { visibleByAutomation } from '../visibility'
import { type MetricRow, latestMetrics, metricHistory } from './store'

const MetricValueType = builder.objectRef<MetricRow>('MetricValue').implement({
  fields: (t) => ({
    value: t.float({ nullable: true, resolve: (m) => m.value }),
    computedAt: t.field({ type: 'DateTime', resolve: (m) => m.computed_at }),
    runId: t.exposeID('run_id', { nullable: true }),
  }),
})

const MetricType = builder.objectRef<MetricRow>('Metric').implement({
  description: 'A metric of a table, with its latest value and its history',
  fields: (t) => ({
    datasourceId: t.exposeID('datasource_id', { description: '"warehouse" or a datasource id' }),
    table: t.exposeString('table_name'),
    name: t.exposeString('name'),
    value: t.float({ nullable: true, description: 'Latest value', resolve: (m) => m.value }),
    computedAt: t.field({ type: 'DateTime', resolve: (m) => m.computed_at }),
    automationId: t.exposeID('automation_id', { nullable: true }),
    runId: t.exposeID('run_id', { nullable: true }),
    history: t.field({
      type: [MetricValueType],
      description: 'Newest first',
      args: { first: t.arg.int({ required: false }) },
      resolve: (m, args, ctx) =>
        metricHistory(
          ctx.services.db,
          { orgId: m.org_id, datasourceId: m.datasource_id, table: m.table_name, name: m.name },
          Math.min(Math.max(args.first ?? 50, 1), 1000),
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
      return visibleByAutomation(ctx, rows, (r) => r.automation_id)
    },
  }),
)
