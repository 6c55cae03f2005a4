import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import type * as schema from './schema'

export type Row = Record<string, unknown>
export type Drizzle = PgDatabase<PgQueryResultHKT, typeof schema>

/** Anything that runs one parameterised statement: the pool or a transaction. */
export interface Queryable {
  /** Runs one statement with $1..$n parameters and returns its rows. */
  query<T = Row>(text: string, params?: readonly unknown[], opts?: QueryOptions): Promise<T[]>
}

export interface QueryOptions {
  /**
   * The transaction's last statement: on a server its COMMIT is sent right behind it, in the
   * same round trip, instead of a round trip after its answer (a completion batch, the hot
   * path, is one round trip shorter). The transaction sends nothing after it, and its function
   * must not throw after it: the transaction may already be committed. If a statement before
   * it failed, PostgreSQL answers the COMMIT by rolling back, and the transaction fails with
   * that statement's error. Outside a transaction, and on PGlite, it changes nothing.
   */
  last?: boolean
}

/**
 * The one database handle every module uses, whichever driver is underneath
 * (postgres.js for DATABASE_URL, PGlite for the embedded default). Hot paths
 * (queue, mutex, events) use `query`; CRUD uses the drizzle handle `db`.
 */
export interface Database extends Queryable {
  readonly driver: 'postgres' | 'pglite'
  /** PGlite's data directory (`memory://…` in memory); undefined on a server. */
  readonly dataDir?: string | undefined
  readonly db: Drizzle
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
  /**
   * Subscribes to a NOTIFY channel; survives reconnects on postgres.js, calling
   * onListen after each (re)connect so callers can catch up on what they missed.
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onListen?: () => void,
  ): Promise<() => Promise<void>>
  close(): Promise<void>
}

/**
 * Runs fn on a driver's transaction handle and, once it returns, waits for the statements it
 * did not await and throws the first failure, so the driver rolls back with that error.
 * Without it a COMMIT sent after a failed statement is answered by PostgreSQL with a silent
 * ROLLBACK, and the transaction reported success.
 */
export async function settledTransaction<T>(q: Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const issued: Promise<unknown>[] = []
  let failed: { error: unknown } | undefined
  let ended = false
  const settled = async () => {
    await Promise.all(issued)
    return failed
  }
  const handle: Queryable = {
    query<R = Row>(text: string, params?: readonly unknown[], opts?: QueryOptions) {
      // After the last statement the COMMIT may be on its way: a statement sent now would run
      // outside the transaction.
      if (ended)
        return Promise.reject(new Error('a statement was sent after the last one of its transaction'))
      ended = opts?.last === true
      const rows = q.query<R>(text, params, opts)
      issued.push(
        rows.catch((error: unknown) => {
          failed ??= { error }
        }),
      )
      return rows
    },
  }
  let result: T
  try {
    result = await fn(handle)
  } catch (error) {
    // A statement after a failed one fails only because the transaction is aborted (25P02):
    // the first failure is the one to report, as postgres.js does.
    const first = await settled()
    throw first && (error as { code?: string }).code === '25P02' ? first.error : error
  }
  const first = await settled()
  if (first) throw first.error
  return result
}

export interface OpenOptions {
  databaseUrl?: string | undefined
  /** PGlite data directory; `memory://` for an in-memory database. */
  dataDir?: string
  /** Connections in the postgres.js pool. */
  max?: number
}

/** Opens the database named by the options: a server when databaseUrl is set, else PGlite. */
export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const { openPostgres } = await import('./postgres')
    return openPostgres(opts.databaseUrl, opts.max ?? 10)
  }
  const { openPglite } = await import('./pglite')
  return openPglite(opts.dataDir ?? 'memory://')
}

/**
 * Parameters as both drivers accept them: Dates as ISO strings and arrays as
 * PostgreSQL array literals (postgres.js only serialises arrays of the few types
 * it knows, e.g. not uuid[] or timestamptz[]). Callers always cast: `$1::uuid[]`.
 */
export function toWire(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString()
  if (Array.isArray(v)) return `{${v.map(arrayElement).join(',')}}`
  return v
}

function arrayElement(v: unknown): string {
  if (v === null || v === undefined) return 'NULL'
  const s = v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v)
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}
