import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import { RunFailure } from '../../kinds/kind'
import type { WarehouseSession } from '../../warehouse/session'
import { STAGE_PREFIX, quoteIdent } from '../identifiers'
import type { Column, RowStream, TextRow } from '../rows'

/**
 * A table a load fills before it touches its target. Its columns are fixed by
 * the first source; later sources must bring the same column names.
 */
export class Stage {
  readonly table: string
  columns: Column[] | undefined

  constructor(
    private readonly session: WarehouseSession,
    purpose: 'stage' | 'src' = 'stage',
  ) {
    this.table = `${STAGE_PREFIX}${purpose}_${randomBytes(6).toString('hex')}`
  }

  get ref(): string {
    return quoteIdent(this.table)
  }

  /** Creates the stage with these columns. */
  async define(columns: Column[]): Promise<void> {
    const seen = new Set<string>()
    for (const c of columns) {
      if (seen.has(c.name))
        throw new RunFailure(`the source has two columns named "${c.name}"; give them aliases`)
      seen.add(c.name)
    }
    if (columns.length === 0) throw new RunFailure('the source has no columns')
    await this.session.query(
      `create table ${this.ref} (${columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ')})`,
    )
    this.columns = columns
  }

  /** Creates the stage from a warehouse query, rows included, in one statement. */
  async defineAs(select: string, params: unknown[]): Promise<void> {
    await this.session.query(`create table ${this.ref} as select * from (\n${select}\n) as source`, params)
    this.columns = await this.session.query<Column>(
      `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
       where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`,
      [`${quoteIdent(this.session.schema)}.${this.ref}`],
    )
  }

  /** Adds a warehouse query's rows, matching columns by name. */
  async insertSelect(select: string, params: unknown[]): Promise<void> {
    if (!this.columns) return this.defineAs(select, params)
    const cols = this.columns.map((c) => quoteIdent(c.name)).join(', ')
    await this.session.query(
      `insert into ${this.ref} (${cols}) select ${cols} from (\n${select}\n) as source`,
      params,
    )
  }

  /** Adds streamed rows; the stream's columns must match the stage's by name. */
  async insertStream(rows: RowStream, signal: AbortSignal, label: string): Promise<void> {
    try {
      await this.insertBatches(rows, signal, label)
    } finally {
      await rows.close?.()
    }
  }

  private async insertBatches(rows: RowStream, signal: AbortSignal, label: string): Promise<void> {
    if (!this.columns) await this.define(rows.columns)
    const order = this.columns!.map((c) => c.name)
    const theirs = rows.columns.map((c) => c.name)
    if (order.length !== theirs.length || !order.every((n) => theirs.includes(n))) {
      throw new RunFailure(
        `${label} has columns (${theirs.join(', ')}) but the first source has (${order.join(', ')})`,
      )
    }
    const map = order.map((n) => theirs.indexOf(n))
    const same = map.every((i, j) => i === j)
    for await (const batch of rows.batches) {
      signal.throwIfAborted()
      const aligned: TextRow[] = same ? batch : batch.map((r) => map.map((i) => r[i] ?? null))
      await this.session.insertRows(this.table, this.columns!, aligned)
    }
  }

  /** True when COPY text can be piped straight in (a server, not PGlite). */
  get copyable(): boolean {
    return !this.session.embedded
  }

  /** Pipes COPY text with these columns (in this order) into the stage. */
  async insertCopy(columns: Column[], data: Readable, label: string): Promise<void> {
    if (!this.columns) await this.define(columns)
    const order = this.columns!.map((c) => c.name)
    if (order.length !== columns.length || !columns.every((c) => order.includes(c.name))) {
      data.destroy()
      throw new RunFailure(
        `${label} has columns (${columns.map((c) => c.name).join(', ')}) but the first source has (${order.join(', ')})`,
      )
    }
    await this.session.copyIn(this.table, columns, data)
  }

  async drop(): Promise<void> {
    await this.session.query(`drop table if exists ${this.ref}`)
  }
}
