import type { Readable } from 'node:stream'
import { parse } from 'csv-parse'
import { type FileLimits, overBytes, overCap } from './limits'

/** One record of a file as read: its values, or why it could not be read; `line` counts from 1. */
export type RawRecord = { line: number; values: (string | null)[] } | { line: number; error: string }

export interface CsvOptions {
  /** One character; null detects it from the first line (`,` `;` tab or `|`). */
  delimiter: string | null
  quote: string
  encoding: 'utf8' | 'latin1'
  /** The file's name and the caps, for the failure that names the one a record went over. */
  name: string
  limits: FileLimits
}

/** Picks the separator that appears most often in the first line, outside quotes. */
export function detectDelimiter(firstLine: string): string {
  const counts = new Map<string, number>([
    [',', 0],
    [';', 0],
    ['\t', 0],
    ['|', 0],
  ])
  let quoted = false
  for (const ch of firstLine) {
    if (ch === '"') quoted = !quoted
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1)
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![1] > 0
    ? [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0]
    : ','
}

/**
 * Streams a CSV file record by record. Malformed records (a stray quote, an
 * unclosed field) come out as errors with their line, and reading goes on.
 * Lines are counted here (record delimiters plus line breaks inside quoted
 * fields): csv-parse's own per-record `info` costs more than the parsing itself.
 */
export async function* readCsv(input: Readable, opts: CsvOptions, head: Buffer): AsyncGenerator<RawRecord[]> {
  const firstLine = head.toString(opts.encoding).split(/\r?\n/, 1)[0] ?? ''
  // Errors wait until the records emitted before them have gone out, so lines stay in order.
  const errors: { after: number; line: number; error: string }[] = []
  let lastErrorLine = -1
  const parser = input.pipe(
    parse({
      delimiter: opts.delimiter ?? detectDelimiter(firstLine),
      quote: opts.quote,
      encoding: opts.encoding,
      bom: true,
      relax_column_count: true,
      skip_records_with_error: true,
      // Bounds the memory one record may take, so a file without line breaks cannot exhaust it.
      max_record_size: opts.limits.maxRowBytes,
      on_skip: (err) => {
        const line = typeof err?.lines === 'number' ? err.lines : 0
        // Not a bad row to skip: the parser held all it may, and the run fails naming the cap.
        if (err?.code === 'CSV_MAX_RECORD_SIZE')
          throw overCap(opts.name, `line ${line}`, 'maxRowBytes', opts.limits)
        // One broken quote can raise two errors for the same line; report the line once.
        if (line === lastErrorLine) return undefined
        lastErrorLine = line
        const after = typeof err?.records === 'number' ? err.records : 0
        errors.push({
          after,
          line,
          error: err?.message.replace(/ at line \d+.*$/, '') ?? 'unreadable record',
        })
        return undefined
      },
    }),
  )
  input.on('error', (err) => parser.destroy(err))
  let line = 0
  let emitted = 0
  const out: RawRecord[] = []
  const due = () => {
    while (errors.length > 0 && errors[0]!.after <= emitted) {
      const e = errors.shift()!
      line = Math.max(line, e.line)
      out.push({ line: e.line, error: e.error })
    }
  }
  let ended = false
  let failed: Error | undefined
  parser.on('end', () => {
    ended = true
  })
  parser.on('error', (err) => {
    failed = err
  })
  // Records are taken in whole buffers, not one await each: that per-record await cost more than parsing.
  for (;;) {
    for (
      let record = parser.read() as string[] | null;
      record !== null;
      record = parser.read() as string[] | null
    ) {
      due()
      emitted++
      const start = line + 1
      line = start
      for (const v of record) {
        if (v.includes('\n')) line += v.split('\n').length - 1
        if (overBytes(v, opts.limits.maxCellBytes))
          throw overCap(opts.name, `a value on line ${start}`, 'maxCellBytes', opts.limits)
      }
      // An empty line parses as one empty field: skipped, but counted.
      if (record.length === 1 && record[0] === '') continue
      out.push({ line: start, values: record })
    }
    if (failed) throw failed
    if (ended) break
    if (out.length > 0) yield out.splice(0)
    // The parser may have failed (a download cut at its cap) or ended while that batch was
    // out with the caller: neither event comes again, so waiting for one would hang the run.
    if (failed) throw failed
    if (ended) continue
    await new Promise<void>((resolve) => {
      const done = () => {
        parser.off('readable', done)
        parser.off('end', done)
        parser.off('error', done)
        resolve()
      }
      parser.on('readable', done)
      parser.on('end', done)
      parser.on('error', done)
    })
  }
  emitted = Number.POSITIVE_INFINITY
  due()
  if (out.length > 0) yield out.splice(0)
}
