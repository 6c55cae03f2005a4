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

/**
 * Runs whose run_queue row disagrees with them: a live run (QUEUED, WAITING, RUNNING) must
 * have exactly one, with the same state, due time, lease and deadline, and a final run none.
 * Every engine statement keeps both in one statement, so this holds at every commit, whatever
 * was killed when. Empty when all is well.
 */
export async function queueMismatches(db: Database): Promise<unknown[]> {
  return db.query(
    `select r.id as run, r.state, q.run_id as queued, q.state as queue_state
     from runs r full join run_queue q on q.run_id = r.id
     where (r.state in ('QUEUED', 'WAITING', 'RUNNING')) is distinct from (q.run_id is not null and r.id is not null)
        or (q.run_id is not null and (q.state, q.priority, q.run_at, q.mutex_name, q.lease_owner, q.lease_expires_at, q.deadline_at)
            is distinct from (r.state, r.priority, r.run_at, r.mutex_name, r.lease_owner, r.lease_expires_at, r.deadline_at))
     limit 20`,
  )
}
