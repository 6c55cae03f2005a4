import ExcelJS from 'exceljs'
import { z } from 'zod'
import { StorageName, quoteIdent } from '../../data/identifiers'
import { UserQuery } from '../../data/load/spec'
import { coerceError } from '../../errors'
import type { Warehouse } from '../../warehouse/warehouse'
import { DeliveryError } from './channel'

/** A storage or a query of the organization's warehouse, attached to a mail as CSV or XLSX. */
export const Attachment = z
  .object({
    storage: StorageName.optional(),
    query: UserQuery.optional(),
    format: z.enum(['CSV', 'XLSX']).default('CSV'),
    /** Liquid, e.g. `sales_{{ "now" | date: "%Y-%m-%d" }}.xlsx`. */
    filename: z.string().min(1).max(500),
    maxRows: z.number().int().min(1).max(1_000_000).default(100_000),
  })
  .refine((a) => (a.storage === undefined) !== (a.query === undefined), {
    message: 'give either a storage or a query',
    path: ['storage'],
  })
export type Attachment = z.output<typeof Attachment>

type Row = Record<string, unknown>

/** Reads the rows as the organization's role; more than maxRows fails the delivery (no silent cut). */
export async function readAttachmentRows(
  warehouse: Warehouse,
  orgId: string,
  a: Attachment,
  signal: AbortSignal,
): Promise<{ columns: string[]; rows: Row[] }> {
  let rows: Row[]
  try {
    rows = await warehouse.session(orgId, { timeoutMs: 60_000, signal }, (s) =>
      a.storage
        ? s.query<Row>(`select * from ${quoteIdent(a.storage)} limit ${a.maxRows + 1}`)
        : s.query<Row>(a.query!),
    )
  } catch (err) {
    throw new DeliveryError(`attachment: ${coerceError(err).message}`, false)
  }
  if (rows.length > a.maxRows)
    throw new DeliveryError(`attachment: more than ${a.maxRows} rows (raise maxRows)`, false)
  return { columns: rows[0] ? Object.keys(rows[0]) : [], rows }
}

const text = (v: unknown): string =>
  v === null || v === undefined
    ? ''
    : v instanceof Date
      ? v.toISOString()
      : typeof v === 'object'
        ? JSON.stringify(v)
        : String(v)

/** RFC 4180: quoted when needed, quotes doubled, CRLF line ends. */
export function toCsv(columns: readonly string[], rows: readonly Row[]): string {
  const cell = (v: unknown) => {
    const s = text(v)
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
  }
  return [columns.map(cell).join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))]
    .map((l) => `${l}\r\n`)
    .join('')
}

/** One sheet, a bold header row, numbers and dates kept as such. */
export async function toXlsx(columns: readonly string[], rows: readonly Row[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook()
  wb.creator = 'Switchyard'
  const ws = wb.addWorksheet('data')
  ws.addRow(columns).font = { bold: true }
  for (const r of rows)
    ws.addRow(
      columns.map((c) => {
        const v = r[c]
        return typeof v === 'number' || v instanceof Date || typeof v === 'boolean' ? v : text(v)
      }),
    )
  return Buffer.from(await wb.xlsx.writeBuffer())
}
