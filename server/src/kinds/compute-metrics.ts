import { z } from 'zod'
import { dataContext } from '../data/kind-context'
import { StatementTimeout } from '../data/load/spec'
import { computeMetrics } from '../data/metrics/compute'
import { MetricSpec, MetricTarget, metricName } from '../data/metrics/spec'
import { recordMetrics } from '../data/metrics/store'
import { ValidationError } from '../errors'
import { defineKind } from './kind'

/** Computes metrics of a storage or datasource table and keeps them in the metric history. */
export const computeMetricsKind = defineKind({
  kind: 'COMPUTE_METRICS',
  description:
    'Computes metrics (row count, min/max/avg/sum, nulls, distinct, freshness, custom SQL) of a table.',
  configSchema: z.object({
    target: MetricTarget,
    metrics: z.array(MetricSpec).min(1, 'give at least one metric').max(100),
    timeoutMs: StatementTimeout,
  }),
  async execute(ctx) {
    const { config, log, run } = ctx
    const d = await dataContext(ctx, config.timeoutMs)
    const values = await computeMetrics(d, config.target, config.metrics)
    await recordMetrics(
      d.data.db,
      {
        orgId: run.orgId,
        automationId: run.automationId,
        runId: run.id,
        datasourceId: config.target.datasource,
        table: config.target.table,
      },
      values,
    )
    for (const v of values) log('INFO', `${v.name} = ${v.value ?? 'null'}`)
    return {
      outputs: { target: config.target, metrics: Object.fromEntries(values.map((v) => [v.name, v.value])) },
    }
  },
  async checkSave(config) {
    const names = config.metrics.map(metricName)
    const twice = names.find((n, i) => names.indexOf(n) !== i)
    if (twice) {
      throw new ValidationError(
        `invalid config: metrics: ${twice} is computed twice; give one of them a name`,
        [{ path: 'config.metrics', message: `${twice} appears twice` }],
      )
    }
  },
})
