import { firstValue, asNumber, readQuery } from '../load/query'
import { type DataRunContext, resolveDatasource } from '../load/sources'
import { metricHistory } from '../metrics/store'
import { evaluateRule } from './evaluate'
import type { CheckSpec } from './spec'
import { type NewCheckResult, previousCheckValue } from './store'

/** Evaluates one check: fetches its value (and the previous one for CHANGE) and applies its rule. */
export async function runCheck(d: DataRunContext, c: CheckSpec): Promise<NewCheckResult> {
  const { orgId, automationId } = d.run
  let value: unknown
  let previous: number | null | undefined
  if (c.metric) {
    // Stored metric values are data of their table: reading them needs the same grant as the table.
    await resolveDatasource(d, c.metric.datasource)
    const [latest, before] = await metricHistory(
      d.data.db,
      { orgId, datasourceId: c.metric.datasource, table: c.metric.table, name: c.metric.name },
      { first: 2, before: null },
    )
    if (!latest) {
      return {
        name: c.name,
        outcome: 'ERROR',
        value: null,
        message: `metric ${c.metric.name} of ${c.metric.table} has no value yet; compute it first (COMPUTE_METRICS)`,
        blocking: c.blocking,
      }
    }
    value = latest.value
    previous = before ? before.value : undefined
  } else {
    value = firstValue(await readQuery(d, c.sql!.datasource, c.sql!.query))
    if (c.rule.type === 'CHANGE') previous = await previousCheckValue(d.data.db, orgId, automationId, c.name)
  }
  const verdict = evaluateRule(c.rule, value, previous)
  return { name: c.name, ...verdict, value: asNumber(value) ?? null, blocking: c.blocking }
}
