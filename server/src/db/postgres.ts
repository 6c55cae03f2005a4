import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import { type Database, type Queryable, type Row, toWire } from './database'
import * as schema from './schema'

export function openPostgres(url: string, max: number): Database {
  const sql = postgres(url, {
    max,
    onnotice: () => {},
    // Ids of type int8 stay strings (the default), timestamps become Dates.
    connection: { application_name: 'switchyard' },
  })
  const asQueryable = (s: postgres.Sql | postgres.TransactionSql): Queryable => ({
    query: <T = Row>(text: string, params: readonly unknown[] = []) =>
      s.unsafe(text, params.map(toWire) as postgres.ParameterOrJSON<never>[], {
        prepare: true,
      }) as unknown as Promise<T[]>,
  })
  const root = asQueryable(sql)
  return {
    driver: 'postgres',
    db: drizzle(sql, { schema }),
    query: root.query,
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      sql.begin((tx) => fn(asQueryable(tx))) as Promise<T>,
    async listen(channel, onPayload, onListen) {
      const sub = await sql.listen(channel, onPayload, onListen)
      return () => sub.unlisten()
    },
    close: () => sql.end({ timeout: 5 }),
  }
}
