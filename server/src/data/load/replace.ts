import type { Queryable } from '../../db/database'
import { quoteIdent } from '../identifiers'
import type { Column } from '../rows'

/**
 * REPLACE into an existing table: the table itself stays, only its rows and
 * columns change, so whatever users added to it (indexes, comments, grants,
 * constraints, triggers, views on it) is still there afterwards. The caller
 * runs this inside the load's transaction: readers see the old rows until it
 * commits (TRUNCATE holds an ACCESS EXCLUSIVE lock until then), never a gap.
 *
 * Emptying first makes the column changes cheap and always possible: dropping,
 * adding or retyping a column of an empty table rewrites nothing, and the
 * USING null cast never meets a value. Columns the table keeps stay in place;
 * new ones go at the end; an index on a column the new rows lack goes with it.
 */
export async function replaceRows(
  q: Queryable,
  r: { table: string; existing: readonly Column[]; stage: string; columns: readonly Column[] },
): Promise<void> {
  const table = quoteIdent(r.table)
  await q.query(`truncate table ${table}`)
  const wanted = new Map(r.columns.map((c) => [c.name, c.type]))
  const had = new Map(r.existing.map((c) => [c.name, c.type]))
  const changes: string[] = []
  for (const c of r.existing) if (!wanted.has(c.name)) changes.push(`drop column ${quoteIdent(c.name)}`)
  for (const c of r.columns) {
    const before = had.get(c.name)
    if (before === undefined) changes.push(`add column ${quoteIdent(c.name)} ${c.type}`)
    else if (before !== c.type)
      changes.push(`alter column ${quoteIdent(c.name)} type ${c.type} using null::${c.type}`)
  }
  // One ALTER TABLE for all changes: one catalog pass, one lock upgrade.
  if (changes.length > 0) await q.query(`alter table ${table} ${changes.join(', ')}`)
  const cols = r.columns.map((c) => quoteIdent(c.name)).join(', ')
  await q.query(`insert into ${table} (${cols}) select ${cols} from ${quoteIdent(r.stage)}`)
}
