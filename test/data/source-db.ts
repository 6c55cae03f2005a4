import { randomBytes } from 'node:crypto'
import postgres from 'postgres'

/**
 * A second database on the local PostgreSQL server, standing in for an
 * outside system a datasource points at. The suite's own database may be
 * PGlite; this one is always a real server (DATABASE_URL's, else the local one).
 */
export interface SourceDb {
  url: string
  sql: postgres.Sql
  drop(): Promise<void>
}

const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** True when a PostgreSQL server answers at SERVER (always in CI). */
export async function sourceServerUp(): Promise<boolean> {
  const sql = postgres(SERVER, { max: 1, connect_timeout: 3, onnotice: () => {} })
  try {
    await sql`select 1`
    return true
  } catch {
    return false
  } finally {
    await sql.end({ timeout: 1 })
  }
}

export async function createSourceDb(): Promise<SourceDb> {
  const name = `sy_src_${randomBytes(5).toString('hex')}`
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const u = new URL(SERVER)
  u.pathname = `/${name}`
  const sql = postgres(u.toString(), { max: 2, onnotice: () => {} })
  return {
    url: u.toString(),
    sql,
    async drop() {
      await sql.end({ timeout: 2 })
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}
