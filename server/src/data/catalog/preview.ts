import type { Queryable } from '../../db/database'
import { ValidationError } from '../../errors'
import { inReadOnly } from '../datasources/postgres'
import { bind } from '../load/sources'
import type { DataServices } from '../services'
import { BROWSE_TIMEOUT_MS, type ViewerSource, asIssue } from './open'

/** Rows a preview shows: enough to see the shape of a result, never a load. */
export const PREVIEW_ROWS = 20
/** A row whose JSON is longer is left out of a preview (counted in omittedRows), not sent to the browser. */
export const PREVIEW_MAX_ROW_BYTES = 65_536

export interface QueryPreview {
  columns: string[]
  rows: unknown[][]
  /** More rows than PREVIEW_ROWS came back. */
  hasMore: boolean
  /** Rows over PREVIEW_MAX_ROW_BYTES, not shown. */
  omittedRows: number
}

/**
 * The first rows of a query, read-only: in a read-only transaction under a statement
 * timeout, on the warehouse as the organization's role or on a PostgreSQL datasource
 * with its own credentials (the connection passing the egress policy). The query is
 * embedded in a select with a limit, as data kinds embed it, so the server stops after
 * PREVIEW_ROWS + 1 rows; the column names come from a row of nulls (an outer join that reads no row).
 */
export async function previewQuery(
  data: DataServices,
  orgId: string,
  source: ViewerSource,
  query: string,
  values: Record<string, unknown>,
  signal: AbortSignal,
): Promise<QueryPreview> {
  if (source.type === 'FILE') {
    const why = `datasource "${source.name}" is a file: import it into a storage, then query the storage`
    throw new ValidationError(why, [{ path: 'datasourceId', message: why }])
  }
  const read = async (q: Queryable): Promise<QueryPreview> => {
    const { text, params } = bind(query, values)
    const [head] = await q.query<{ j: unknown }>(
      `select to_json(x) as j from (select q.* from (select 1) as one left join (\n${text}\n) as q on false) as x`,
      params,
    )
    const columns = Object.keys(json(head?.j) ?? {})
    const found = await q.query<{ r: unknown }>(
      `select case when octet_length(j::text) <= ${PREVIEW_MAX_ROW_BYTES} then j end as r
       from (select to_json(q) as j from (\n${text}\n) as q limit ${PREVIEW_ROWS + 1}) as x`,
      params,
    )
    const shown = found.slice(0, PREVIEW_ROWS).map((f) => json(f.r))
    return {
      columns,
      rows: shown.filter((r) => r !== null).map((r) => columns.map((c) => r[c] ?? null)),
      hasMore: found.length > PREVIEW_ROWS,
      omittedRows: shown.filter((r) => r === null).length,
    }
  }
  try {
    if (source.type === 'WAREHOUSE') {
      return await data.warehouse.session(orgId, { timeoutMs: BROWSE_TIMEOUT_MS, signal }, (s) =>
        s.atomic(async (q) => {
          await q.query('set transaction read only')
          return read(q)
        }),
      )
    }
    const opts = {
      name: source.name,
      timeoutMs: BROWSE_TIMEOUT_MS,
      batchRows: 0,
      signal,
      egress: data.egress,
    }
    return await inReadOnly(source.url, opts, (tx) =>
      read({ query: (text, params = []) => tx.unsafe(text, params as never[]) as never }),
    )
  } catch (err) {
    return asIssue(err, source, 'query')
  }
}

/** A json value as the drivers hand it: parsed already, or as text. */
function json(v: unknown): Record<string, unknown> | null {
  if (v === null || v === undefined) return null
  return (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>
}
