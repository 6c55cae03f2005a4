import { z } from 'zod'
import { ColumnName, TableName } from '../identifiers'
import { DatasourceRef, UserQuery } from '../load/spec'

export const MetricName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must start with a letter or _ and hold only letters, digits and _')

export const MetricType = z.enum([
  'ROW_COUNT',
  'MIN',
  'MAX',
  'AVG',
  'SUM',
  'NULL_COUNT',
  'DISTINCT_COUNT',
  'FRESHNESS',
  'SQL',
])
export type MetricType = z.output<typeof MetricType>

/**
 * One metric of a table. Column metrics need `column`; SQL needs `sql` (one
 * number; `${name}` bound) and a name. FRESHNESS is the age in seconds of the
 * newest value of a date/timestamp column; MIN/MAX of dates are epoch seconds.
 */
export const MetricSpec = z
  .object({
    name: MetricName.optional(),
    type: MetricType,
    column: ColumnName.optional(),
    sql: UserQuery.optional(),
  })
  .superRefine((m, ctx) => {
    const needsColumn = !['ROW_COUNT', 'SQL'].includes(m.type)
    if (needsColumn && !m.column)
      ctx.addIssue({ code: 'custom', path: ['column'], message: `${m.type} needs a column` })
    if (m.type === 'SQL' && !m.sql)
      ctx.addIssue({ code: 'custom', path: ['sql'], message: 'SQL needs the query' })
    if (m.type === 'SQL' && !m.name)
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'SQL metrics need a name' })
  })
export type MetricSpec = z.output<typeof MetricSpec>

/** Where metrics are computed: a storage (datasource "warehouse") or a table of a PostgreSQL datasource. */
export const MetricTarget = z.object({ datasource: DatasourceRef.default('warehouse'), table: TableName })
export type MetricTarget = z.output<typeof MetricTarget>

/** The name a metric is kept under: given, else from its type and column (`row_count`, `max_amount`). */
export function metricName(m: MetricSpec): string {
  if (m.name) return m.name
  const base = m.type.toLowerCase()
  return m.column ? `${base}_${m.column}`.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 63) : base
}
