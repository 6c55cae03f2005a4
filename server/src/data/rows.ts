/**
 * Rows travel between sources and the warehouse as text, exactly as
 * PostgreSQL prints and parses them: no driver ever reinterprets a date or a
 * numeric on the way, and the warehouse casts each value with its column type.
 */
export type TextRow = (string | null)[]

export interface Column {
  name: string
  /** A PostgreSQL type name usable in CREATE TABLE (e.g. `bigint`, `timestamp with time zone`). */
  type: string
}

/** A stream of rows in bounded batches, with its columns known before the first batch. */
export interface RowStream {
  columns: Column[]
  batches: AsyncIterable<TextRow[]>
  /**
   * Releases what the stream holds (a file reader's temporary copy) when it is
   * not read to its end, even when its batches were never started.
   */
  close?(): Promise<void>
}

/** Encodes rows as COPY text format: tab-separated, `\N` for null, backslash escapes. */
export function copyText(rows: readonly TextRow[]): string {
  let out = ''
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      if (i > 0) out += '\t'
      const v = row[i]
      out += v === null || v === undefined ? '\\N' : escapeCopy(v)
    }
    out += '\n'
  }
  return out
}

function escapeCopy(v: string): string {
  if (!/[\\\t\n\r]/.test(v)) return v
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
}

/** Rows as a JSON array of objects keyed by column name, for json_populate_recordset. */
export function jsonRecords(columns: readonly string[], rows: readonly TextRow[]): string {
  return JSON.stringify(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] ?? null]))))
}
