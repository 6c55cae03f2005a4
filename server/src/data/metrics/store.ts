import type { Queryable } from '../../db/database'

export interface MetricRow {
  id: string
  org_id: string
  automation_id: string | null
  run_id: string | null
  datasource_id: string
  table_name: string
  name: string
  value: number | null
  computed_at: Date
}

const COLUMNS =
  'id::text, org_id, automation_id, run_id::text, datasource_id, table_name, name, value, computed_at'

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
    `select distinct on (datasource_id, table_name, name) ${COLUMNS} from metric_values
     where org_id = $1 and ($2::text is null or datasource_id = $2) and ($3::text is null or table_name = $3)
       and ($4::text is null or name = $4)
     order by datasource_id, table_name, name, id desc limit 1000`,
    [orgId, f.datasourceId ?? null, f.table ?? null, f.name ?? null],
  )
}

/** A metric's values, newest first. */
export function metricHistory(
  q: Queryable,
  m: { orgId: string; datasourceId: string; table: string; name: string },
  first: number,
): Promise<MetricRow[]> {
  return q.query<MetricRow>(
    `select ${COLUMNS} from metric_values where org_id = $1 and datasource_id = $2 and table_name = $3 and name = $4
     order by id desc limit $5`,
    [m.orgId, m.datasourceId, m.table, m.name, first],
  )
}
