import { RunFailure } from '../../kinds/kind'
import { quoteIdent, quoteQualified } from '../identifiers'
import { asNumber, firstValue, readQuery } from '../load/query'
import { type DataRunContext, resolveDatasource } from '../load/sources'
import { type MetricSpec, type MetricTarget, metricName } from './spec'

export interface MetricValue {
  name: string
  type: MetricSpec['type']
  value: number | null
}

/** The aggregate expression of a column metric; MIN/MAX go through JSON so dates and numbers both come out. */
function aggregate(m: MetricSpec): string {
  const c = m.column ? quoteIdent(m.column) : ''
  switch (m.type) {
    case 'ROW_COUNT':
      return 'count(*)'
    case 'MIN':
      return `to_jsonb(min(${c}))`
    case 'MAX':
      return `to_jsonb(max(${c}))`
    case 'AVG':
      return `avg(${c})::float8`
    case 'SUM':
      return `sum(${c})::float8`
    case 'NULL_COUNT':
      return `count(*) - count(${c})`
    case 'DISTINCT_COUNT':
      return `count(distinct ${c})`
    case 'FRESHNESS':
      return `extract(epoch from now() - max(${c})::timestamptz)::float8`
    case 'SQL':
      throw new Error('SQL metrics are not aggregates')
  }
}

/** A JSON min/max as a number: numbers as they are, dates and timestamps as epoch seconds. */
function extreme(name: string, v: unknown): number | null {
  if (v === null || v === undefined) return null
  const n = asNumber(v)
  if (n !== undefined) return n
  const t = typeof v === 'string' ? Date.parse(v) : Number.NaN
  if (!Number.isNaN(t)) return t / 1000
  throw new RunFailure(`metric ${name}: ${JSON.stringify(v)} is neither a number nor a date`)
}

/**
 * Computes a table's metrics: every column metric in one aggregate query,
 * each SQL metric on its own, all on the target's datasource with the run's grants.
 */
export async function computeMetrics(
  d: DataRunContext,
  target: MetricTarget,
  specs: readonly MetricSpec[],
): Promise<MetricValue[]> {
  const ds = await resolveDatasource(d, target.datasource)
  const table = quoteQualified(target.table)
  const aggregates = specs.filter((m) => m.type !== 'SQL')
  const out = new Map<MetricSpec, number | null>()
  if (aggregates.length > 0) {
    const select = aggregates.map((m, i) => `${aggregate(m)} as m${i}`).join(', ')
    const [row] = await readQuery<Record<string, unknown>>(d, ds, `select ${select} from ${table}`)
    aggregates.forEach((m, i) => {
      const v = row?.[`m${i}`]
      out.set(m, m.type === 'MIN' || m.type === 'MAX' ? extreme(metricName(m), v) : (asNumber(v) ?? null))
    })
  }
  for (const m of specs.filter((s) => s.type === 'SQL')) {
    const v = firstValue(await readQuery(d, ds, m.sql!))
    const n = asNumber(v)
    if (v !== null && n === undefined)
      throw new RunFailure(`metric ${metricName(m)}: the query returned ${JSON.stringify(v)}, not a number`)
    out.set(m, n ?? null)
  }
  return specs.map((m) => ({ name: metricName(m), type: m.type, value: out.get(m) ?? null }))
}
