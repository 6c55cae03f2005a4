import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type postgres from 'postgres'
import type { Queryable, Row } from '../db/database'
import { type Column, copyText } from '../data/rows'
import { type ResultLimits, ResultReader } from './limits'
import {
  type SessionOptions,
  WAREHOUSE_SCHEMA,
  type WarehouseSession,
  sqlFailure,
  timeoutSetting,
} from './session'

const quote = (n: string) => `"${n.replace(/"/g, '""')}"`
const copyStatement = (table: string, columns: readonly Column[]) =>
  `copy ${quote(table)} (${columns.map((c) => quote(c.name)).join(', ')}) from stdin`

/** Rows per round trip of a cursor: small enough that megabyte rows stay a few dozen MB in flight. */
const CURSOR_ROWS = 50

export interface CursorResult<R> {
  rows: R[]
  rowCount: number
  command: string | undefined
}

/**
 * Runs one statement through a cursor (Execute with a row limit), so its
 * result reaches the node batch by batch under the caps and is never held
 * whole. Works for any statement: DDL and DML simply bring no batch.
 * `simple: false` keeps the extended protocol: one statement, never a script.
 */
export async function readCursor<R = Row>(
  tx: postgres.TransactionSql,
  text: string,
  params: readonly unknown[],
  o: {
    limits: ResultLimits
    keep?: number
    track(q: { cancel(): void }): void
    /** The pool's `CLOSE`: returned from a batch, it stops the cursor. */
    close: object
  },
): Promise<CursorResult<R>> {
  const reader = new ResultReader<R>(o.limits, o.keep)
  const pending = tx.unsafe(text, params as never[], { prepare: false, simple: false } as never)
  o.track(pending)
  let failure: unknown
  try {
    const done = (await pending.cursor(CURSOR_ROWS, (batch) => {
      try {
        reader.add(batch as unknown as R[])
      } catch (err) {
        failure = err
        // Stops reading: postgres.js closes the portal, the rest never leaves the server.
        // (Throwing here instead would escape postgres.js on the last batch.)
        return o.close as never
      }
    })) as unknown as { count?: number | null; command?: string } | undefined
    if (failure) throw failure
    const count = done?.count ?? null
    return {
      rows: reader.rows,
      rowCount: reader.rowCount > 0 || count === null ? reader.rowCount : count,
      command: done?.command,
    }
  } catch (err) {
    throw sqlFailure(failure ?? err)
  }
}

/**
 * COPY FROM STDIN through postgres.js. Its writable never finishes when the
 * server rejects the data after the last byte was sent (the error arrives once
 * the stream is detached), so the query's own rejection is watched as well.
 */
async function copyFrom(
  tx: postgres.TransactionSql,
  statement: string,
  data: Readable,
  track: (q: { cancel(): void }) => void,
) {
  // `reject` is the query's own (untyped) settle function, see postgres/src/query.js.
  const q = tx.unsafe(statement) as unknown as postgres.PendingQuery<postgres.Row[]> & {
    reject(err: unknown): void
  }
  track(q)
  let fail: (err: unknown) => void = () => {}
  const failed = new Promise<never>((_, reject) => {
    fail = reject
  })
  failed.catch(() => {})
  const reject = q.reject.bind(q)
  q.reject = (err: unknown) => {
    fail(err)
    return reject(err)
  }
  try {
    const writable = await q.writable()
    await Promise.race([pipeline(data, writable), failed])
  } catch (err) {
    data.destroy()
    throw sqlFailure(err)
  }
}

/** A session on a warehouse database of a server: one transaction, as the organization's role. */
export async function serverSession<T>(
  pool: postgres.Sql,
  limits: ResultLimits,
  opts: SessionOptions,
  fn: (s: WarehouseSession) => Promise<T>,
): Promise<T> {
  let current: { cancel(): void } | undefined
  const track = (q: { cancel(): void }) => {
    current = q
  }
  const onAbort = () => current?.cancel()
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return (await pool.begin(async (tx) => {
      await tx.unsafe(`set local statement_timeout = ${timeoutSetting(opts.timeoutMs)}`)
      const q: Queryable = {
        async query<R = Row>(text: string, params: readonly unknown[] = []) {
          opts.signal?.throwIfAborted()
          return (await readCursor<R>(tx, text, params, { limits, track, close: pool.CLOSE })).rows
        },
      }
      const session: WarehouseSession = {
        schema: WAREHOUSE_SCHEMA,
        embedded: false,
        query: q.query,
        async insertRows(table, columns, rows) {
          if (rows.length === 0) return
          opts.signal?.throwIfAborted()
          await copyFrom(tx, copyStatement(table, columns), Readable.from([copyText(rows)]), track)
        },
        async copyIn(table, columns, data) {
          opts.signal?.throwIfAborted()
          await copyFrom(tx, copyStatement(table, columns), data, track)
        },
        atomic: (f) => f(q),
      }
      return fn(session)
    })) as T
  } catch (err) {
    throw sqlFailure(err)
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
  }
}
