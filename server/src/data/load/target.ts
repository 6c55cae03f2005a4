import type { Queryable } from '../../db/database'
import type { Column } from '../rows'

/** A load's target as the catalog describes it: a table (plain or partitioned) or a view. */
export interface TargetTable {
  kind: 'TABLE' | 'VIEW'
  columns: Column[]
}

/**
 * Reads the target of a load, or undefined when it does not exist yet. Read by
 * schema and name from pg_class (not `::regclass`), so a missing table is an
 * answer rather than an error that would abort the load's transaction.
 */
export async function describeTarget(
  q: Queryable,
  schema: string,
  name: string,
): Promise<TargetTable | undefined> {
  const [t] = await q.query<{ oid: string; kind: string }>(
    `select c.oid::int8 as oid, c.relkind::text as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p', 'v', 'm', 'f')`,
    [schema, name],
  )
  if (!t) return undefined
  const columns = await q.query<Column>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
     where a.attrelid = $1::int8::oid and a.attnum > 0 and not a.attisdropped order by a.attnum`,
    [t.oid],
  )
  return { kind: t.kind === 'r' || t.kind === 'p' ? 'TABLE' : 'VIEW', columns }
}
