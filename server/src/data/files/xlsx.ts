import type { Readable } from 'node:stream'
import { RunFailure } from '../../kinds/kind'
import type { RawRecord } from './csv'
import { type FileLimits, overBytes, overCap } from './limits'
import { type PartContext, type Workbook, boundsFor, readWorkbook } from './xlsx-parts'
import { parseXml } from './xml'
import { openZip } from './zip'

// Excel's last column is XFD; a cell reference past it is a broken file, and would size a row array.
const MAX_COLUMNS = 16_384
const BATCH = 1000

/** The 0-based column of a cell reference such as "AB12", or undefined when it has none. */
function columnOf(ref: string | undefined): number | undefined {
  if (!ref) return undefined
  let col = 0
  let i = 0
  for (; i < ref.length; i++) {
    const c = ref.charCodeAt(i)
    const upper = c >= 97 ? c - 32 : c
    if (upper < 65 || upper > 90) break
    col = col * 26 + (upper - 64)
    if (col > MAX_COLUMNS) return MAX_COLUMNS
  }
  return i === 0 ? undefined : col - 1
}

/** A date serial as PostgreSQL-parsable text: a date when it has no time, else a timestamp without zone. */
function serialDate(serial: number, date1904: boolean): string | undefined {
  // Excel dates carry no zone: the serial is read as UTC wall time, as exceljs did.
  const ms = Math.round((serial - 25569 + (date1904 ? 1462 : 0)) * 86_400_000)
  const d = new Date(ms)
  if (Number.isNaN(d.getTime())) return undefined
  const iso = d.toISOString().replace('Z', '')
  return iso.endsWith('T00:00:00.000') ? iso.slice(0, 10) : iso.replace('T', ' ')
}

type Cell = { value: string | null } | { error: string }

/** One cell's text by its type (`t`), style (`s`) and collected `<v>` or inline text. */
function cellValue(book: Workbook, type: string | undefined, style: number, raw: string | null): Cell {
  if (raw === null) return { value: null }
  switch (type) {
    case 's': {
      const s = book.sharedStrings[Number(raw)]
      return s === undefined
        ? { error: `refers to shared string ${raw}, which the file does not have` }
        : { value: s }
    }
    case 'str':
    case 'inlineStr':
      return { value: raw }
    case 'b':
      return { value: raw === '1' || raw === 'true' ? 'true' : 'false' }
    case 'e':
      return { error: `the cell holds the error ${raw}` }
    case 'd': {
      const t = Date.parse(raw)
      if (Number.isNaN(t)) return { error: `"${raw.slice(0, 40)}" is not a date` }
      return { value: serialDate(t / 86_400_000 + 25569, false) ?? null }
    }
    default: {
      const n = Number(raw)
      if (raw.trim() === '' || !Number.isFinite(n)) return { error: `"${raw.slice(0, 40)}" is not a number` }
      if (book.dateStyles[style]) {
        const d = serialDate(n, book.date1904)
        return d === undefined ? { error: `${raw} is not a date` } : { value: d }
      }
      // As exceljs handed numbers over: the shortest text that reads back as the same double.
      return { value: String(n) }
    }
  }
}

/**
 * Streams the rows of one sheet of an XLSX file; line numbers are the sheet's
 * row numbers, rows without a value are left out. The file is spooled to disk,
 * its workbook parts read (within the caps), then the sheet parsed a chunk at
 * a time, so memory holds the shared strings and one batch of rows, never the
 * sheet. A malformed file fails with what is wrong with it.
 */
export async function* readXlsx(
  input: Readable,
  sheet: string | number | null,
  name: string,
  limits: FileLimits,
): AsyncGenerator<RawRecord[]> {
  const zip = await openZip(input, name, limits)
  try {
    const ctx = { zip, file: name, limits }
    const book = await readWorkbook(ctx)
    const chosen =
      sheet === null
        ? book.sheets[0]
        : typeof sheet === 'number'
          ? book.sheets[sheet - 1]
          : book.sheets.find((s) => s.name === sheet)
    if (!chosen) {
      const names = book.sheets.map((s) => JSON.stringify(s.name)).join(', ')
      throw new RunFailure(
        `${name} has no sheet ${sheet === null ? '1' : JSON.stringify(sheet)} (its sheets: ${names || 'none'})`,
      )
    }
    const stream = await zip.open(chosen.part)
    if (!stream)
      throw new RunFailure(
        `${name} is not a valid XLSX file: sheet "${chosen.name}" (${chosen.part}) is missing`,
      )
    yield* sheetRows(stream, book, { ...ctx, part: chosen.part })
  } finally {
    await zip.close()
  }
}

async function* sheetRows(
  stream: Readable,
  book: Workbook,
  c: PartContext & { part: string },
): AsyncGenerator<RawRecord[]> {
  const out: RawRecord[] = []
  let rowNumber = 0
  let values: (string | null)[] | undefined
  let rowBytes = 0
  let rowError: string | undefined
  let any = false
  let cell: { col: number; type: string | undefined; style: number; raw: string | null } | undefined
  let nextCol = 0
  let text: string[] | undefined
  let inInline = false
  let phonetic = 0
  const h = {
    open(tag: string, a: Record<string, string>) {
      if (tag === 'row') {
        const r = Number(a.r)
        rowNumber = Number.isInteger(r) && r > 0 ? r : rowNumber + 1
        values = []
        rowBytes = 0
        rowError = undefined
        any = false
        nextCol = 0
      } else if (tag === 'c' && values) {
        const col = columnOf(a.r) ?? nextCol
        if (col >= MAX_COLUMNS)
          throw new RunFailure(
            `${c.file} is not a valid XLSX file: cell ${a.r ?? '?'} of ${c.part} is past column XFD`,
          )
        cell = { col, type: a.t, style: Number(a.s ?? 0), raw: null }
        nextCol = col + 1
      } else if (cell && (tag === 'v' || (tag === 't' && inInline))) text = []
      else if (tag === 'is') inInline = true
      else if (tag === 'rPh') phonetic++
    },
    text(t: string) {
      if (!text || phonetic > 0) return
      rowBytes += t.length
      if (rowBytes > c.limits.maxRowBytes) throw overCap(c.file, `row ${rowNumber}`, 'maxRowBytes', c.limits)
      text.push(t)
    },
    close(tag: string) {
      if (tag === 'v' || tag === 't') {
        if (text && cell)
          (cell as { raw?: string }).raw = ((cell as { raw?: string }).raw ?? '') + text.join('')
        text = undefined
      } else if (tag === 'is') inInline = false
      else if (tag === 'rPh') phonetic--
      else if (tag === 'c' && cell && values) {
        if (cell.raw !== null && overBytes(cell.raw, c.limits.maxCellBytes))
          throw overCap(c.file, `a cell of row ${rowNumber}`, 'maxCellBytes', c.limits)
        const v = cellValue(book, cell.type, cell.style, cell.raw)
        while (values.length < cell.col) values.push(null)
        if ('error' in v) {
          rowError ??= `column ${cell.col + 1}: ${v.error}`
          values[cell.col] = null
        } else {
          if (v.value !== null) {
            any = true
            // A shared string is counted where it is used, so a row cannot repeat a huge one without limit.
            if (cell.type === 's') rowBytes += v.value.length
            if (rowBytes > c.limits.maxRowBytes)
              throw overCap(c.file, `row ${rowNumber}`, 'maxRowBytes', c.limits)
          }
          values[cell.col] = v.value
        }
        cell = undefined
      } else if (tag === 'row' && values) {
        if (rowError) out.push({ line: rowNumber, error: rowError })
        else if (any) out.push({ line: rowNumber, values })
        values = undefined
      }
    },
  }
  for await (const _ of parseXml(stream, h, boundsFor(c, c.part))) {
    if (out.length >= BATCH) yield out.splice(0)
  }
  if (out.length > 0) yield out.splice(0)
}
