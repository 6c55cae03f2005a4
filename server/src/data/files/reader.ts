import { Readable } from 'node:stream'
import { z } from 'zod'
import { RunFailure } from '../../kinds/kind'
import { ColumnName, columnNames } from '../identifiers'
import type { Column, RowStream, TextRow } from '../rows'
import { type RawRecord, readCsv } from './csv'
import { checkFormat } from './sniff'
import { FileColumnType, FileColumnTypeSchema, inferType, parseValue } from './types'
import { type FileLimits, overCap } from './limits'
import { readXlsx } from './xlsx'

const fields = {
  /** Default: from the file name, then from its first bytes. */
  format: z.enum(['CSV', 'XLSX']),
  header: z.boolean(),
  /** CSV: one character; default detected from the first line. */
  delimiter: z.string().length(1).nullable(),
  quote: z.string().length(1),
  encoding: z.enum(['utf8', 'latin1']),
  decimal: z.enum(['.', ',']),
  /** XLSX: sheet name or 1-based position; default the first sheet. */
  sheet: z.union([z.string().min(1).max(100), z.number().int().min(1)]).nullable(),
  /** Declared types (by header name, or by position without a header); the rest is inferred. */
  columns: z
    .array(
      z.object({ name: ColumnName, type: FileColumnTypeSchema.optional(), rename: ColumnName.optional() }),
    )
    .max(1000),
  /** Rows read before types are inferred. */
  sampleRows: z.number().int().min(1).max(100_000),
  /** More bad rows than this fail the run; up to this many are skipped and reported. */
  maxBadRows: z.number().int().min(0).max(1_000_000),
}

/**
 * File options as written in a config or on a file datasource: every field
 * optional and without defaults, so a config overrides only what it names.
 */
export const FileOptionsInput = z.object(fields).partial()

const DEFAULTS: FileOptions = {
  format: undefined,
  header: true,
  delimiter: null,
  quote: '"',
  encoding: 'utf8',
  decimal: '.',
  sheet: null,
  columns: [],
  sampleRows: 1000,
  maxBadRows: 0,
}

/** Options with defaults filled in; layers are merged left to right, later ones winning. */
export function fileOptions(...layers: unknown[]): FileOptions {
  const merged: Record<string, unknown> = {}
  for (const layer of layers) {
    for (const [k, v] of Object.entries((layer ?? {}) as Record<string, unknown>))
      if (v !== undefined) merged[k] = v
  }
  const parsed = FileOptionsInput.parse(merged)
  return { ...DEFAULTS, ...Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== undefined)) }
}

export type FileOptions = Omit<Required<z.output<typeof FileOptionsInput>>, 'format'> & {
  format: 'CSV' | 'XLSX' | undefined
}

export interface BadRow {
  line: number
  error: string
}

export interface FileRows extends RowStream {
  /** Filled as batches are read: bad rows (the first 100), how many, and rows accepted. */
  readonly report: { badRows: BadRow[]; badRowCount: number; rowCount: number }
}

const BATCH = 5000

/**
 * Records arrive in batches; this hands them out one by one (header, sample)
 * or a batch at a time (the rest), counts them against the row cap, and
 * closes the reader underneath (an XLSX file's temporary copy) when done.
 */
class Records {
  private buf: RawRecord[] = []
  private i = 0
  private read = 0

  constructor(
    private readonly it: AsyncGenerator<RawRecord[]>,
    private readonly cap: { name: string; limits: FileLimits },
  ) {}

  private async batch(): Promise<RawRecord[] | undefined> {
    const n = await this.it.next()
    if (n.done) return undefined
    this.read += n.value.length
    if (this.read > this.cap.limits.maxFileRows)
      throw overCap(this.cap.name, 'the number of rows', 'maxFileRows', this.cap.limits)
    return n.value
  }

  async next(): Promise<RawRecord | undefined> {
    while (this.i >= this.buf.length) {
      const b = await this.batch()
      if (!b) return undefined
      this.buf = b
      this.i = 0
    }
    return this.buf[this.i++]
  }

  /** What is left of the current batch, else the next batch; undefined at the end. */
  async chunk(): Promise<RawRecord[] | undefined> {
    if (this.i < this.buf.length) {
      const rest = this.buf.slice(this.i)
      this.i = this.buf.length
      return rest
    }
    return this.batch()
  }

  async close(): Promise<void> {
    await this.it.return(undefined)
  }
}
const REPORTED = 100

/**
 * Reads the first bytes for sniffing, then hands back a stream that still
 * starts at byte 0 and fails once the file is past SWITCHYARD_MAX_FILE_BYTES.
 */
async function peek(
  input: Readable,
  cap: { name: string; limits: FileLimits },
): Promise<{ head: Buffer; stream: Readable }> {
  const it = input[Symbol.asyncIterator]()
  const seen: Buffer[] = []
  let size = 0
  const counted = (v: unknown): Buffer => {
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array)
    size += b.length
    if (size > cap.limits.maxFileBytes) {
      input.destroy()
      throw overCap(cap.name, 'the file size', 'maxFileBytes', cap.limits)
    }
    return b
  }
  while (size < 8192) {
    const n = await it.next()
    if (n.done) break
    seen.push(counted(n.value))
  }
  async function* all() {
    yield* seen
    for (let n = await it.next(); !n.done; n = await it.next()) yield counted(n.value)
  }
  return { head: Buffer.concat(seen), stream: Readable.from(all(), { objectMode: false }) }
}

/**
 * Turns a CSV or XLSX stream into typed text rows in bounded batches: header,
 * declared or inferred types (from the first `sampleRows` rows), and bad rows
 * reported with their line numbers instead of aborting a load half way.
 */
export async function readFileRows(
  input: Readable,
  name: string,
  opts: FileOptions,
  limits: FileLimits,
): Promise<FileRows> {
  const { head, stream } = await peek(input, { name, limits })
  if (head.length === 0) throw new RunFailure(`${name} is empty`)
  const format = checkFormat(name, opts.format, head)
  const records = new Records(
    format === 'CSV'
      ? readCsv(
          stream,
          { delimiter: opts.delimiter, quote: opts.quote, encoding: opts.encoding, name, limits },
          head,
        )
      : readXlsx(stream, opts.sheet, name, limits),
    { name, limits },
  )
  try {
    return await typedRows(records, { name, format, opts })
  } catch (err) {
    await records.close()
    throw err
  }
}

/** Header, types and the batches of typed rows, from records of either format. */
async function typedRows(
  records: Records,
  { name, format, opts }: { name: string; format: 'CSV' | 'XLSX'; opts: FileOptions },
): Promise<FileRows> {
  const report = { badRows: [] as BadRow[], badRowCount: 0, rowCount: 0 }
  const bad = (line: number, error: string) => {
    report.badRowCount++
    if (report.badRows.length < REPORTED) report.badRows.push({ line, error })
  }

  let first = await records.next()
  while (first && 'error' in first) {
    bad(first.line, first.error)
    first = await records.next()
  }
  if (!first) throw new RunFailure(`${name} has no rows`)
  const firstValues = first.values
  const declared = opts.columns
  let raw: string[]
  const sample: { line: number; values: (string | null)[] }[] = []
  if (opts.header) raw = columnNames(firstValues.map((v) => v ?? ''))
  else {
    sample.push(first)
    raw = firstValues.map((_, i) => declared[i]?.name ?? `column_${i + 1}`)
  }
  const width = raw.length
  const byName = new Map(declared.map((d) => [d.name, d]))
  if (opts.header) {
    const missing = declared.filter((d) => !raw.includes(d.name)).map((d) => d.name)
    if (missing.length > 0) {
      throw new RunFailure(
        `${name}: declared column(s) ${missing.join(', ')} not in the header (${raw.join(', ')})`,
      )
    }
  }

  // A record that does not fit the header is bad; XLSX leaves trailing empty cells out, so shorter is fine there.
  const shape = (rec: { line: number; values: (string | null)[] }): (string | null)[] | undefined => {
    const v = rec.values
    if (v.length === width) return v
    if (v.length > width && v.slice(width).every((x) => x === null || x === '')) return v.slice(0, width)
    if (v.length < width && format === 'XLSX') return [...v, ...Array<null>(width - v.length).fill(null)]
    bad(rec.line, `has ${v.length} fields, expected ${width}`)
    return undefined
  }

  while (sample.length < opts.sampleRows) {
    const n = await records.next()
    if (!n) break
    if ('error' in n) bad(n.line, n.error)
    else sample.push(n)
  }
  const shaped = sample.map((r) => ({ line: r.line, values: shape(r) }))
  const types = raw.map((col, i) => {
    const d = byName.get(col) ?? (opts.header ? undefined : declared[i])
    return (
      d?.type ??
      inferType(
        shaped.map((r) => r.values?.[i] ?? null),
        opts.decimal,
      )
    )
  })
  const columns: Column[] = raw.map((col, i) => ({
    name: (byName.get(col) ?? (opts.header ? undefined : declared[i]))?.rename ?? col,
    type: FileColumnType[types[i]!],
  }))

  const convert = (line: number, values: (string | null)[]): TextRow | undefined => {
    const out: TextRow = new Array(width)
    for (let i = 0; i < width; i++) {
      const v = values[i]
      if (v === null || v === undefined || v.trim() === '') {
        out[i] = null
        continue
      }
      const p = parseValue(types[i]!, v, opts.decimal)
      if (!p.ok) {
        const shown = v.length > 40 ? `${v.slice(0, 40)}…` : v
        bad(
          line,
          `column "${raw[i]}": "${shown}" ${p.why}${declared.length === 0 ? ` (inferred ${types[i]})` : ''}`,
        )
        return undefined
      }
      out[i] = p.value
    }
    return out
  }

  const tooMany = () => report.badRowCount > opts.maxBadRows
  let stoppedEarly = false
  const failure = () =>
    new RunFailure(
      `${name}: ${report.badRowCount}${stoppedEarly ? '+' : ''} bad row(s), more than maxBadRows (${opts.maxBadRows}): ` +
        report.badRows
          .slice(0, 20)
          .map((b) => `line ${b.line}: ${b.error}`)
          .join('; '),
    )

  async function* batches(): AsyncGenerator<TextRow[]> {
    try {
      yield* typedBatches()
    } finally {
      await records.close()
    }
  }
  async function* typedBatches(): AsyncGenerator<TextRow[]> {
    let batch: TextRow[] = []
    const take = (line: number, values: (string | null)[] | undefined) => {
      const row = values && convert(line, values)
      if (row) {
        batch.push(row)
        report.rowCount++
      }
    }
    for (const r of shaped) take(r.line, r.values)
    scan: for (let chunk = await records.chunk(); chunk; chunk = await records.chunk()) {
      for (const n of chunk) {
        if (tooMany()) {
          // Keep scanning (loading nothing) to name a few more bad lines, then stop.
          if (report.badRowCount >= 20) {
            stoppedEarly = true
            break scan
          }
          if ('error' in n) bad(n.line, n.error)
          else {
            const v = shape(n)
            if (v) convert(n.line, v)
          }
          continue
        }
        if ('error' in n) bad(n.line, n.error)
        else take(n.line, shape(n))
      }
      if (batch.length >= BATCH) {
        yield batch
        batch = []
      }
    }
    // Parse errors, shape errors and type errors are found at different times; report in file order.
    report.badRows.sort((a, b) => a.line - b.line)
    if (tooMany()) throw failure()
    if (batch.length > 0) yield batch
  }
  return { columns, batches: batches(), report, close: () => records.close() }
}
