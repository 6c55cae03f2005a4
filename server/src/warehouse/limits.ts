import { RunFailure } from '../kinds/kind'

/** What one statement's result may bring to the node (SWITCHYARD_MAX_RESULT_ROWS / _BYTES). */
export interface ResultLimits {
  readonly maxRows: number
  readonly maxBytes: number
}

/**
 * A row's size as the cap counts it: its values as text. Cheap on purpose
 * (no serialisation of strings, which are what make a result big).
 */
export function rowBytes(row: Record<string, unknown>): number {
  let n = 0
  for (const v of Object.values(row)) {
    if (v === null || v === undefined) continue
    if (typeof v === 'string') n += v.length
    else if (v instanceof Uint8Array) n += v.byteLength
    else if (typeof v === 'object') n += v instanceof Date ? 24 : JSON.stringify(v).length
    else n += 8
  }
  return n
}

const mib = (n: number) => (n >= 1_048_576 ? `${Math.round(n / 1_048_576)} MiB` : `${n} bytes`)

/**
 * Reads a result batch by batch, keeping the first `keep` rows and counting
 * the rest, and fails as soon as the result passes a cap: a result is never
 * held whole, so a run can fail but the node cannot run out of memory.
 */
export class ResultReader<R = Record<string, unknown>> {
  readonly rows: R[] = []
  rowCount = 0
  bytes = 0

  constructor(
    private readonly limits: ResultLimits,
    private readonly keep: number = limits.maxRows,
  ) {}

  /** Adds one batch; throws a RunFailure naming the cap once the result is over it. */
  add(batch: readonly R[]): void {
    for (const row of batch) {
      this.rowCount++
      this.bytes += rowBytes(row as Record<string, unknown>)
      if (this.rowCount > this.limits.maxRows) {
        throw new RunFailure(
          `the result has more than ${this.limits.maxRows} rows (SWITCHYARD_MAX_RESULT_ROWS): add a LIMIT, aggregate, or load it into a storage with SQL_TO_STORAGE`,
        )
      }
      if (this.bytes > this.limits.maxBytes) {
        throw new RunFailure(
          `the result is larger than ${mib(this.limits.maxBytes)} (SWITCHYARD_MAX_RESULT_BYTES): select fewer or smaller columns, add a LIMIT, or load it into a storage with SQL_TO_STORAGE`,
        )
      }
      if (this.rows.length < this.keep) this.rows.push(row)
    }
  }

  /**
   * Rows to fetch next so one batch stays near `targetBytes`: small rows come
   * a thousand at a time, megabyte rows a few at a time.
   */
  nextBatchSize(targetBytes = 4_194_304): number {
    if (this.rowCount === 0) return 10
    const avg = Math.max(1, this.bytes / this.rowCount)
    return Math.max(1, Math.min(1000, Math.floor(targetBytes / avg)))
  }
}
