import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import type * as schema from './schema'

export type Row = Record<string, unknown>
export type Drizzle = PgDatabase<PgQueryResultHKT, typeof schema>

/** Anything that runs one parameterised statement: the pool or a transaction. */
export interface Queryable {
  /** Runs one statement with $1..$n parameters and returns its rows. */
  query<T = Row>(text: string, params?: readonly unknown[]): Promise<T[]>
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
  const result = await fn({
    query<R = Row>(text: string, params?: readonly unknown[]) {
      const rows = q.query<R>(text, params)
      issued.push(
        rows.catch((error: unknown) => {
          failed ??= { error }
        }),
      )
      return rows
    },
  })
  await Promise.all(issued)
  if (failed) throw failed.error
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
