import { RunFailure } from '../../kinds/kind'
import { queryRows } from '../datasources/postgres'
import { type DataRunContext, type ResolvedDatasource, bind, resolveDatasource } from './sources'

/**
 * Runs one small read (a metric, a check, an alarm) on a datasource with
 * `${name}` bound: on the warehouse as the organization's role, on a
 * PostgreSQL datasource read-only with its own credentials.
 */
export async function readQuery<R = Record<string, unknown>>(
  d: DataRunContext,
  datasource: string | ResolvedDatasource,
  statement: string,
): Promise<R[]> {
  const ds = typeof datasource === 'string' ? await resolveDatasource(d, datasource) : datasource
  const { text, params } = bind(statement, d.values)
  if (ds.type === 'WAREHOUSE') {
    return d.data.warehouse.session(d.run.orgId, { timeoutMs: d.timeoutMs, signal: d.signal }, (s) =>
      s.query<R>(text, params),
    )
  }
  if (ds.type === 'POSTGRES')
    return queryRows<R>(ds.url, text, params, {
      name: ds.name,
      timeoutMs: d.timeoutMs,
      signal: d.signal,
      egress: d.data.egress,
    })
  throw new RunFailure(
    `datasource "${ds.name}" is a file: load it into a storage first, then query the storage`,
  )
}

/** The first value of the first row, as a query meant to return one value should. */
export function firstValue(rows: Record<string, unknown>[]): unknown {
  const row = rows[0]
  if (!row) return null
  return Object.values(row)[0] ?? null
}

/** A value as a number, or undefined when it is not one (numeric and int8 arrive as strings). */
export function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'bigint') return Number(v)
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v)
  if (typeof v === 'boolean') return v ? 1 : 0
  return undefined
}
