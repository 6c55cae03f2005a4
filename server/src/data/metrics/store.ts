import { selectList } from '../../db/columns'
import type { Queryable } from '../../db/database'
import { metricValues } from '../../db/schema'
import type { HistoryPage } from '../history-page'

/**
 * A stored metric value as raw queries return it: the table's own row type,
 * except that int8 columns arrive as strings on both drivers.
 */
export type MetricRow = Omit<typeof metricValues.$inferSelect, 'id' | 'runId'> & {
  id: string
  runId: string | null
}

// Ordering is always by `m.id`, the bigserial itself: an `id::text` column under
// the name `id` once made "9" sort after "10" and showed an older run as the latest.
const COLUMNS = selectList(metricValues, 'm')

/** Appends computed values to the metric history. */
export async function recordMetrics(
  q: Queryable,
  r: { orgId: string; automationId: string; runId: string; datasourceId: string; table: string },
  values: readonly { name: string; value: number | null }[],
): Promise<void> {
  if (values.length === 0) return
  await q.query(
    `insert into metric_values (org_id, automation_id, run_id, datasource_id, table_name, name, value)
     select $1, $2, $3, $4, $5, n, v from unnest($6::text[], $7::float8[]) as x(n, v)`,
    [
      r.orgId,
      r.automationId,
      r.runId,
      r.datasourceId,
      r.table,
      values.map((v) => v.name),
      values.map((v) => v.value),
    ],
  )
}

/** The latest value of each metric, optionally narrowed to a table or a name. */
export function latestMetrics(
  q: Queryable,
  orgId: string,
  f: { datasourceId?: string | null; table?: string | null; name?: string | null },
): Promise<MetricRow[]> {
  return q.query<MetricRow>(
    `select distinct on (m.datasource_id, m.table_name, m.name) ${COLUMNS} from metric_values m
     where m.org_id = $1 and ($2::text is null or m.datasource_id = $2) and ($3::text is null or m.table_name = $3)
       and ($4::text is null or m.name = $4)
     order by m.datasource_id, m.table_name, m.name, m.id desc limit 1000`,
    [orgId, f.datasourceId ?? null, f.table ?? null, f.name ?? null],
  )
}

/**
 * A metric's values, newest first; `before` (an id from a previous page) pages
 * on: ids only grow, so a page never repeats or skips a value however many arrive.
 */
export function metricHistory(
  q: Queryable,
  m: { orgId: string; datasourceId: string; table: string; name: string },
  page: HistoryPage,
): Promise<MetricRow[]> {
  return q.query<MetricRow>(
    `select ${COLUMNS} from metric_values m
     where m.org_id = $1 and m.datasource_id = $2 and m.table_name = $3 and m.name = $4
       and ($6::int8 is null or m.id < $6)
     order by m.id desc limit $5`,
    [m.orgId, m.datasourceId, m.table, m.name, page.first, page.before],
  )
}
