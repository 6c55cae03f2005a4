import { mkdirSync } from 'node:fs'
import { PGlite, types } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { type Database, type Queryable, type Row, toWire } from './database'
import * as schema from './schema'

export async function openPglite(dataDir: string): Promise<Database> {
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true })
  // int8 stays a string, as with postgres.js, so ids look the same on both drivers.
  const pg = await PGlite.create(dataDir, { parsers: { [types.INT8]: (v: string) => v } })
  const asQueryable = (q: Pick<PGlite, 'query'>): Queryable => ({
    query: async <T = Row>(text: string, params: readonly unknown[] = []) =>
      (await q.query<T>(text, params.map(toWire))).rows,
  })
  const root = asQueryable(pg)
  return {
    driver: 'pglite',
    dataDir,
    db: drizzle(pg, { schema }),
    query: root.query,
    transaction: (fn) => pg.transaction((tx) => fn(asQueryable(tx))),
    async listen(channel, onPayload) {
      const unsub = await pg.listen(channel, onPayload)
      return () => unsub()
    },
    close: () => pg.close(),
  }
}
