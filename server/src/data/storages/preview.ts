import { ValidationError } from '../../errors'
import type { Warehouse } from '../../warehouse/warehouse'
import { quoteIdent } from '../identifiers'
import type { StorageInfo } from './catalog'

export interface PreviewRequest {
  offset: number
  limit: number
  orderBy: { column: string; descending: boolean }[]
}

export interface PreviewPage {
  columns: string[]
  rows: unknown[][]
  offset: number
  hasMore: boolean
}

/**
 * One page of a storage's rows, read as the organization's role. Values come
 * back as PostgreSQL renders them in JSON, the same on both drivers. Without
 * orderBy, pages follow physical order, which is stable while the table is not written.
 */
export async function previewStorage(
  warehouse: Warehouse,
  storage: StorageInfo,
  req: PreviewRequest,
  signal?: AbortSignal,
): Promise<PreviewPage> {
  const names = storage.columns.map((c) => c.name)
  const order = req.orderBy.map((o, i) => {
    if (!names.includes(o.column)) {
      throw new ValidationError(`invalid orderBy: ${o.column} is not a column of ${storage.name}`, [
        { path: `orderBy.${i}.column`, message: 'no such column' },
      ])
    }
    return `${quoteIdent(o.column)}${o.descending ? ' desc' : ''}`
  })
  const orderSql = order.length > 0 ? ` order by ${order.join(', ')}` : ''
  const rows = await warehouse.session(storage.orgId, { timeoutMs: 15_000, signal }, (s) =>
    s.query<{ r: Record<string, unknown> }>(
      `select to_json(t) as r from (select * from ${quoteIdent(storage.name)}${orderSql} limit $1 offset $2) t`,
      [req.limit + 1, req.offset],
    ),
  )
  return {
    columns: names,
    rows: rows.slice(0, req.limit).map(({ r }) => names.map((n) => r[n] ?? null)),
    offset: req.offset,
    hasMore: rows.length > req.limit,
  }
}

/** Exact row count, read as the organization's role (bounded by a timeout). */
export async function countRows(warehouse: Warehouse, storage: StorageInfo): Promise<number> {
  const [row] = await warehouse.session(storage.orgId, { timeoutMs: 15_000 }, (s) =>
    s.query<{ n: string | number }>(`select count(*) as n from ${quoteIdent(storage.name)}`),
  )
  return Number(row?.n ?? 0)
}
