import type { Readable } from 'node:stream'
import ExcelJS from 'exceljs'
import { RunFailure } from '../../kinds/kind'
import type { RawRecord } from './csv'

interface SheetRef {
  id: string | number
  name: string
}

interface ReaderInternals {
  model?: { sheets?: { name: string; id: number; rId: string }[] }
  workbookRels?: { Id: string; Target: string }[]
}

/** Which worksheet file (sheetN.xml) holds the sheet the user named or numbered. */
function wanted(
  reader: ReaderInternals,
  sheet: string | number | null,
  ws: SheetRef,
  position: number,
): boolean {
  if (sheet === null) return position === 1
  if (typeof sheet === 'number') return position === sheet
  const entry = reader.model?.sheets?.find((s) => s.name === sheet)
  const target = reader.workbookRels?.find((r) => r.Id === entry?.rId)?.Target
  return target !== undefined && target.replace(/^\/?(xl\/)?/, '') === `worksheets/sheet${ws.id}.xml`
}

/** A cell as PostgreSQL-parsable text; dates lose no precision and get no invented time zone. */
function cellText(v: unknown): { value: string | null } | { error: string } {
  if (v === null || v === undefined) return { value: null }
  if (typeof v === 'string') return { value: v }
  if (typeof v === 'number' || typeof v === 'boolean') return { value: String(v) }
  if (v instanceof Date) {
    // Excel dates carry no zone; exceljs hands them over as UTC wall time.
    const iso = v.toISOString().replace('Z', '')
    return { value: iso.endsWith('T00:00:00.000') ? iso.slice(0, 10) : iso.replace('T', ' ') }
  }
  const o = v as { result?: unknown; richText?: { text: string }[]; text?: unknown; error?: string }
  if (o.error !== undefined) return { error: `the cell holds the error ${o.error}` }
  if ('result' in o) return cellText(o.result)
  if (o.richText) return { value: o.richText.map((r) => r.text).join('') }
  if (o.text !== undefined) return cellText(o.text)
  return { value: String(v) }
}

/** Streams the rows of one sheet of an XLSX file; line numbers are the sheet's row numbers. */
export async function* readXlsx(
  input: Readable,
  sheet: string | number | null,
  name: string,
): AsyncGenerator<RawRecord[]> {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    worksheets: 'emit',
  })
  let position = 0
  let found = false
  const batch: RawRecord[] = []
  try {
    for await (const ws of reader) {
      position++
      if (
        found ||
        !wanted(reader as unknown as ReaderInternals, sheet, ws as unknown as SheetRef, position)
      ) {
        for await (const _row of ws) {
          // Rows of other sheets are read and dropped: the zip is one stream.
        }
        continue
      }
      found = true
      for await (const row of ws) {
        // row.values is 1-based and sparse: walk indexes so empty cells keep their place.
        const cells = row.values as unknown[]
        const values: (string | null)[] = []
        let error: string | undefined
        for (let i = 1; i < cells.length; i++) {
          const t = cellText(cells[i])
          if ('error' in t) error ??= `column ${i}: ${t.error}`
          values.push('error' in t ? null : t.value)
        }
        batch.push(error ? { line: row.number, error } : { line: row.number, values })
        if (batch.length >= 1000) yield batch.splice(0)
      }
      if (batch.length > 0) yield batch.splice(0)
    }
  } catch (err) {
    const msg = (err as Error).message
    throw new RunFailure(`${name} could not be read as XLSX: ${msg}`)
  }
  if (!found) throw new RunFailure(`${name} has no sheet ${sheet === null ? '1' : JSON.stringify(sheet)}`)
}
