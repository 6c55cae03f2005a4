import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type postgres from 'postgres'
import type { Database, Queryable, Row } from '../db/database'
import { type Column, copyText, jsonRecords } from '../data/rows'
import { RunFailure } from '../kinds/kind'

/**
 * Work on one organization's warehouse as its restricted role. On a server the
 * whole session is one transaction on a connection logged in as the role, so
 * a failure anywhere rolls everything back. On PGlite (one connection shared
 * with the platform) each call is a short transaction of its own, so a long
 * load never blocks heartbeats; callers that need several statements to land
 * together use atomic().
 */
export interface WarehouseSession {
  readonly schema: string
  /** True on PGlite: statements are not one transaction, and COPY is unavailable. */
  readonly embedded: boolean
  /** Runs one statement built by the platform (identifiers quoted, values as parameters). */
  query<T = Row>(text: string, params?: readonly unknown[]): Promise<T[]>
  /** Appends rows of text values (as PostgreSQL prints them) to a table of this schema. */
  insertRows(table: string, columns: readonly Column[], rows: readonly (string | null)[][]): Promise<void>
  /** Pipes COPY text into a table; only on a server (see `embedded`). */
  copyIn(table: string, columns: readonly Column[], data: Readable): Promise<void>
  /** Runs fn so that its statements commit together or not at all. */
  atomic<T>(fn: (q: Queryable) => Promise<T>): Promise<T>
}

export interface SessionOptions {
  /** Per statement. */
  timeoutMs: number
  signal?: AbortSignal | undefined
}

/** Turns a driver error into a failure whose message reaches the run as is. */
export function sqlFailure(err: unknown): Error {
  if (err instanceof RunFailure) return err
  const e = err as { message?: string; code?: string }
  return new RunFailure(`SQL error${e.code ? ` ${e.code}` : ''}: ${e.message ?? String(err)}`)
}

const quote = (n: string) => `"${n.replace(/"/g, '""')}"`
const copyStatement = (table: string, columns: readonly Column[]) =>
  `copy ${quote(table)} (${columns.map((c) => quote(c.name)).join(', ')}) from stdin`

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

export async function serverSession<T>(
  pool: postgres.Sql,
  schema: string,
  opts: SessionOptions,
  fn: (s: WarehouseSession) => Promise<T>,
): Promise<T> {
  const timeout = Math.max(100, Math.floor(opts.timeoutMs))
  let current: { cancel(): void } | undefined
  const onAbort = () => current?.cancel()
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return (await pool.begin(async (tx) => {
      await tx.unsafe(`set local statement_timeout = ${timeout}`)
      await tx.unsafe(`set local search_path = ${schema}`)
      const q: Queryable = {
        async query<R = Row>(text: string, params: readonly unknown[] = []) {
          opts.signal?.throwIfAborted()
          // simple: false keeps the extended protocol: one statement, never a script.
          const pending = tx.unsafe(text, params as never[], { prepare: false, simple: false } as never)
          current = pending
          try {
            return [...(await pending)] as R[]
          } catch (err) {
            throw sqlFailure(err)
          }
        },
      }
      const session: WarehouseSession = {
        schema,
        embedded: false,
        query: q.query,
        async insertRows(table, columns, rows) {
          if (rows.length === 0) return
          opts.signal?.throwIfAborted()
          await copyFrom(tx, copyStatement(table, columns), Readable.from([copyText(rows)]), (q) => {
            current = q
          })
        },
        async copyIn(table, columns, data) {
          opts.signal?.throwIfAborted()
          await copyFrom(tx, copyStatement(table, columns), data, (q) => {
            current = q
          })
        },
        atomic: (f) => f(q),
      }
      return fn(session)
    })) as T
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
  }
}

export async function embeddedSession<T>(
  db: Database,
  role: string,
  schema: string,
  opts: SessionOptions,
  fn: (s: WarehouseSession) => Promise<T>,
): Promise<T> {
  const timeout = Math.max(100, Math.floor(opts.timeoutMs))
  const asRole = <R>(f: (tx: Queryable) => Promise<R>): Promise<R> => {
    opts.signal?.throwIfAborted()
    return db
      .transaction(async (tx) => {
        await tx.query(`set local role ${role}`)
        await tx.query(`set local search_path = ${schema}`)
        await tx.query(`set local statement_timeout = ${timeout}`)
        return f(tx)
      })
      .catch((err) => {
        throw sqlFailure(err)
      })
  }
  const session: WarehouseSession = {
    schema,
    embedded: true,
    query: (text, params) => asRole((tx) => tx.query(text, params)),
    async insertRows(table, columns, rows) {
      if (rows.length === 0) return
      const names = columns.map((c) => quote(c.name))
      // PGlite has no COPY FROM STDIN; a JSON batch parsed in C is the next fastest way in.
      // Every value arrives as text and is cast with its column's type, as COPY would.
      await asRole((tx) =>
        tx.query(
          `insert into ${quote(table)} (${names.join(', ')})
           select ${columns.map((c, i) => `x.${names[i]}::${c.type}`).join(', ')}
           from json_to_recordset($1::json) as x(${names.map((n) => `${n} text`).join(', ')})`,
          [
            jsonRecords(
              columns.map((c) => c.name),
              rows,
            ),
          ],
        ),
      )
    },
    copyIn: () => Promise.reject(new Error('COPY FROM STDIN is not available on the embedded database')),
    atomic: (f) => asRole(f),
  }
  return fn(session)
}
