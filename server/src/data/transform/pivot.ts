import { z } from 'zod'
import { RunFailure } from '../../kinds/kind'
import type { WarehouseSession } from '../../warehouse/session'
import { ColumnName, columnNames, quoteIdent } from '../identifiers'
import { aggregateSql } from './etl'

export const PivotSpec = z.object({
  /** Columns that stay rows (the group). */
  rows: z.array(ColumnName).max(50).default([]),
  /** The column whose values become columns. */
  column: ColumnName,
  /** The column aggregated into each cell (not needed for COUNT). */
  value: ColumnName.optional(),
  aggregate: z.enum(['SUM', 'COUNT', 'AVG', 'MIN', 'MAX']).default('SUM'),
  /** Which values become columns, in this order; default every distinct value, sorted. */
  values: z.array(z.string().max(200)).min(1).max(500).optional(),
  maxColumns: z.number().int().min(1).max(500).default(100),
})
export type PivotSpec = z.output<typeof PivotSpec>

/**
 * Builds the pivot as one SELECT with one filtered aggregate per pivot value
 * (compared as text, bound as parameters). Without declared values it first
 * reads the distinct ones, refusing more than maxColumns.
 */
export async function compilePivot(
  p: PivotSpec,
  relation: string,
  session: WarehouseSession,
  params: unknown[],
): Promise<string> {
  const col = quoteIdent(p.column)
  let values: (string | null)[] | undefined = p.values
  if (!values) {
    const found = await session.query<{ v: string | null }>(
      `select distinct ${col}::text as v from ${relation} as s order by 1 limit ${p.maxColumns + 1}`,
      params,
    )
    if (found.length > p.maxColumns) {
      throw new RunFailure(
        `${p.column} has more than ${p.maxColumns} distinct values; list the ones you want in values, or raise maxColumns`,
      )
    }
    values = found.map((r) => r.v)
  }
  if (values.length === 0) throw new RunFailure(`${p.column} has no values to pivot on`)
  // Column names come from the values; they must not collide with the row columns or with each other.
  const names = columnNames([
    ...p.rows,
    ...values.map((v) => (v === null ? 'null' : v === '' ? 'empty' : v)),
  ]).slice(p.rows.length)
  const cells = values.map((v, i) => {
    const agg = aggregateSql(p.aggregate, p.value)
    if (v === null) return `${agg} filter (where ${col} is null) as ${quoteIdent(names[i]!)}`
    params.push(v)
    return `${agg} filter (where ${col}::text = $${params.length}) as ${quoteIdent(names[i]!)}`
  })
  const keys = p.rows.map(quoteIdent)
  return `select ${[...keys, ...cells].join(', ')} from ${relation} as s${keys.length > 0 ? ` group by ${keys.join(', ')}` : ''}`
}
