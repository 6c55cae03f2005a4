import { createHash } from 'node:crypto'
import type { Queryable } from '../../db/database'
import { RunFailure } from '../../kinds/kind'
import { quoteIdent } from '../identifiers'
import type { Column } from '../rows'

/**
 * UPSERT by key, in one statement: `INSERT … ON CONFLICT (key) DO UPDATE`, so
 * a reader (or a concurrent UPSERT) never finds a key missing between a delete
 * and an insert, and two loads at once cannot both insert the same key.
 *
 * Null keys: a row whose key columns hold null matches a stored row with null
 * in the same key columns, as `IS NOT DISTINCT FROM` would. The key's unique
 * index is `NULLS NOT DISTINCT` (PostgreSQL 15+) so that ON CONFLICT sees that
 * match; with a plain unique index every null-key row would be "new" and pile
 * up. Loading the same rows twice therefore always gives the same table.
 *
 * Several rows with one key in the source: the last one in source order wins
 * (the stage is filled in source order and never updated, so its ctid order is
 * that order); ON CONFLICT itself refuses to touch one row twice.
 */
export async function upsertRows(
  q: Queryable,
  u: { schema: string; table: string; stage: string; columns: readonly Column[]; key: readonly string[] },
): Promise<void> {
  await ensureKeyIndex(q, u)
  const keys = u.key.map(quoteIdent).join(', ')
  const cols = u.columns.map((c) => quoteIdent(c.name))
  const rest = u.columns.filter((c) => !u.key.includes(c.name)).map((c) => quoteIdent(c.name))
  const onConflict =
    rest.length === 0 ? 'do nothing' : `do update set ${rest.map((c) => `${c} = excluded.${c}`).join(', ')}`
  await q.query(
    `insert into ${quoteIdent(u.table)} (${cols.join(', ')})
     select distinct on (${keys}) ${cols.join(', ')} from ${quoteIdent(u.stage)} as s
     order by ${keys}, s.ctid desc
     on conflict (${keys}) ${onConflict}`,
  )
}

/** A name for the key index that stays the same for one table and key (≤ 63 bytes). */
function keyIndexName(table: string, key: readonly string[]): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([table, ...key]))
    .digest('hex')
    .slice(0, 8)
  return `${table.slice(0, 40)}_upsert_key_${hash}`
}

/**
 * Makes sure the target has a NULLS NOT DISTINCT unique index on exactly the
 * key columns (in any order), creating it on the first UPSERT. Existing rows
 * that already repeat a key would make CREATE UNIQUE INDEX fail half way
 * through the load's transaction, so they are looked for first and named.
 */
async function ensureKeyIndex(
  q: Queryable,
  u: { schema: string; table: string; key: readonly string[] },
): Promise<void> {
  const [found] = await q.query<{ name: string }>(
    `select i.relname as name from pg_index x
       join pg_class i on i.oid = x.indexrelid
       join pg_class t on t.oid = x.indrelid join pg_namespace n on n.oid = t.relnamespace
     where n.nspname = $1 and t.relname = $2 and x.indisunique and x.indisvalid and x.indnullsnotdistinct
       and x.indpred is null and x.indexprs is null
       and (select array_agg(a.attname::text order by a.attname::text) from pg_attribute a
            where a.attrelid = t.oid and a.attnum = any(x.indkey::int2[])) = $3::text[]
       and array_length(x.indkey::int2[], 1) = cardinality($3::text[])
     limit 1`,
    [u.schema, u.table, [...u.key].sort()],
  )
  if (found) return
  const keys = u.key.map(quoteIdent)
  const dupes = await q.query<Record<string, unknown> & { _sy_rows: string | number }>(
    `select ${keys.join(', ')}, count(*) as _sy_rows from ${quoteIdent(u.table)}
     group by ${keys.join(', ')} having count(*) > 1 order by count(*) desc limit 5`,
  )
  if (dupes.length > 0) {
    const shown = dupes.map(
      (d) => `${u.key.map((k) => `${k}=${showValue(d[k])}`).join(', ')} (${d._sy_rows} rows)`,
    )
    throw new RunFailure(
      `UPSERT into ${u.table} needs one row per key (${u.key.join(', ')}), but the storage already has ` +
        `several rows for: ${shown.join('; ')}${dupes.length === 5 ? '; …' : ''}. ` +
        'Delete the extra rows (or load once with mode REPLACE), then run again.',
    )
  }
  await q.query(
    `create unique index ${quoteIdent(keyIndexName(u.table, u.key))} on ${quoteIdent(u.table)} (${keys.join(', ')}) nulls not distinct`,
  )
}

function showValue(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  const s = v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v)
  return s.length > 40 ? `${JSON.stringify(s.slice(0, 40))}…` : JSON.stringify(s)
}
