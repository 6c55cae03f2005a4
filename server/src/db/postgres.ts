import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import { type Database, type Drizzle, type Queryable, type Row, StatementFailures, toWire } from './database'
import * as schema from './schema'

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
  const asQueryable = (s: postgres.Sql | postgres.TransactionSql): Queryable => ({
    query: <T = Row>(text: string, params: readonly unknown[] = []) =>
      s.unsafe(text, params.map(toWire) as postgres.ParameterOrJSON<never>[], {
        prepare: true,
      }) as unknown as Promise<T[]>,
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
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => pipelinedTransaction(sql, asQueryable, fn),
    async listen(channel, onPayload, onListen) {
      const sub = await sql.listen(channel, onPayload, onListen)
      return () => sub.unlisten()
    },
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), orm?.sql.end({ timeout: 5 })])
    },
  }
}

/**
 * A transaction whose BEGIN travels with its first statements instead of taking a round
 * trip of its own (postgres.js's begin() waits for it): on a reserved connection the
 * statements queue behind it, and PostgreSQL runs them in order. A failed statement, awaited
 * or not, rolls the transaction back with its error (StatementFailures). The connection's
 * loss ends the reservation (see the postgres.js patch): no statement of the transaction can
 * then run on a session reconnected for someone else.
 */
async function pipelinedTransaction<T>(
  sql: postgres.Sql,
  asQueryable: (s: postgres.Sql) => Queryable,
  fn: (tx: Queryable) => Promise<T>,
): Promise<T> {
  const c = await sql.reserve()
  const failures = new StatementFailures()
  const inner = asQueryable(c)
  // Sent with the last statement (queryLast), or at the end.
  let commit: Promise<unknown> | undefined
  const tx: Queryable = {
    query: (text, params) =>
      commit
        ? Promise.reject(new Error(`a statement after the transaction's last one: ${text.slice(0, 60)}`))
        : failures.keep(inner.query(text, params)),
    async queryLast<R>(text: string, params?: readonly unknown[]) {
      const rows = failures.keep(inner.query<R>(text, params))
      commit = failures.keep(c.unsafe('commit') as unknown as Promise<unknown>)
      // After a failed statement that COMMIT rolled back: the statement's error is thrown.
      await commit
      return rows
    },
  }
  try {
    failures.keep(c.unsafe('begin') as unknown as Promise<unknown>)
    let result: T
    try {
      result = await fn(tx)
      failures.check()
    } catch (err) {
      await c.unsafe('rollback').catch(() => {})
      // A statement refused because an earlier one failed says only that: throw the cause.
      throw err instanceof postgres.PostgresError && err.code === '25P02' && failures.first
        ? failures.first.error
        : err
    }
    await (commit ?? c.unsafe('commit'))
    // A statement left unawaited that failed made that COMMIT a rollback.
    failures.check()
    return result
  } finally {
    c.release()
  }
}
