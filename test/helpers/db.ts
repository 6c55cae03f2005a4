import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { inject } from 'vitest'
import { type Database, openDatabase } from '../../server/src/db/database'
import { migrate } from '../../server/src/db/migrate'

export interface TestDatabase {
  db: Database
  /** Set on real PostgreSQL: other processes connect with it. */
  url: string | undefined
  /** Closes and drops the database. */
  drop(): Promise<void>
}

/** A fresh, migrated database for one test file: cloned on PostgreSQL, in memory on PGlite. */
export async function testDatabase(): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL
  const template = inject('templateDb')
  if (!base || !template) {
    const db = await openDatabase({ dataDir: 'memory://' })
    await migrate(db)
    return { db, url: undefined, drop: () => db.close() }
  }
  const name = `sy_t_${randomBytes(5).toString('hex')}`
  const admin = postgres(base, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name} template ${template}`)
  const u = new URL(base)
  u.pathname = `/${name}`
  const url = u.toString()
  const db = await openDatabase({ databaseUrl: url, max: 10 })
  return {
    db,
    url,
    async drop() {
      // Warehouses are databases (and roles, which are cluster-wide) of their own: drop them too.
      const warehouses = await db.query<{ name: string }>('select name from warehouses')
      await db.close()
      for (const w of warehouses) {
        await admin.unsafe(`drop database if exists "${w.name}" with (force)`)
        await admin.unsafe(`drop role if exists "${w.name}"`)
      }
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}

/** True when the suite runs against a real PostgreSQL server (several processes possible). */
export const onPostgres = (): boolean => Boolean(process.env.DATABASE_URL)
