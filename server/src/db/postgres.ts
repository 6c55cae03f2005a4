import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import {
  type Database,
  type Drizzle,
  type QueryOptions,
  type Queryable,
  type Row,
  settledTransaction,
  toWire,
} from './database'
import * as schema from './schema'

/** A transaction of the patched postgres.js (patches/postgres@3.4.9.patch): COMMIT on demand. */
type InTransaction = postgres.TransactionSql & { commitNow(): void }

export function openPostgres(url: string, max: number): Database {
  const sql = postgres(url, {
    max,
    onnotice: () => {},
    connection: { application_name: 'switchyard' },
    // json/jsonb parameters are always passed as JSON text (as PGlite takes them): send as is.
    types: {
      json: {
        to: 3802,
        from: [114, 3802],
        serialize: (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x)),
        parse: (x: string) => JSON.parse(x),
      },
    },
  })
  const asQueryable = (s: postgres.Sql | InTransaction): Queryable => ({
    query: <T = Row>(text: string, params: readonly unknown[] = [], opts?: QueryOptions) => {
      const rows = s.unsafe(text, params.map(toWire) as postgres.ParameterOrJSON<never>[], {
        prepare: true,
      })
      if (opts?.last && 'commitNow' in s) {
        // Written first, so the COMMIT (see the postgres.js patch) goes out behind it.
        rows.execute()
        s.commitNow()
      }
      return rows as unknown as Promise<T[]>
    },
  })
  const root = asQueryable(sql)
  // drizzle rewires its client's type parsers (timestamps come back as strings), so it
  // gets a small pool of its own, opened on first use; raw queries keep Dates, as on PGlite.
  let orm: { sql: postgres.Sql; db: Drizzle } | undefined
  return {
    driver: 'postgres',
    get db() {
      if (!orm) {
        const own = postgres(url, {
          max: 4,
          onnotice: () => {},
          connection: { application_name: 'switchyard-orm' },
        })
        orm = { sql: own, db: drizzle(own, { schema }) as unknown as Drizzle }
      }
      return orm.db
    },
    query: root.query,
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      sql.begin((tx) => settledTransaction(asQueryable(tx as unknown as InTransaction), fn)) as Promise<T>,
    async listen(channel, onPayload, onListen) {
      const sub = await sql.listen(channel, onPayload, onListen)
      return () => sub.unlisten()
    },
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), orm?.sql.end({ timeout: 5 })])
    },
  }
}
