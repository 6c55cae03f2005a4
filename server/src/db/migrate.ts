import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Database } from './database'

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../drizzle', import.meta.url))

// Any constant shared by every node: they all serialise on it while migrating.
const MIGRATION_LOCK = 72_611_001

interface JournalEntry {
  idx: number
  tag: string
}

/**
 * Applies the drizzle-kit migrations in drizzle/ that this database has not
 * seen, in one transaction under an advisory lock, so two nodes starting at
 * once never run a migration twice.
 */
export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<string[]> {
  const journal = JSON.parse(readFileSync(join(dir, 'meta/_journal.json'), 'utf8')) as {
    entries: JournalEntry[]
  }
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await tx.query(
      'create table if not exists switchyard_migrations (tag text primary key, applied_at timestamptz not null default now())',
    )
    const done = new Set(
      (await tx.query<{ tag: string }>('select tag from switchyard_migrations')).map((r) => r.tag),
    )
    const applied: string[] = []
    for (const entry of journal.entries.sort((a, b) => a.idx - b.idx)) {
      if (done.has(entry.tag)) continue
      const text = readFileSync(join(dir, `${entry.tag}.sql`), 'utf8')
      for (const statement of text.split('--> statement-breakpoint')) {
        if (statement.trim()) await tx.query(statement)
      }
      await tx.query('insert into switchyard_migrations (tag) values ($1)', [entry.tag])
      applied.push(entry.tag)
    }
    return applied
  })
}
