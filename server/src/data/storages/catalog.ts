import { type Queryable, toWire } from '../../db/database'
import type { Warehouse } from '../../warehouse/warehouse'

export interface StorageColumn {
  name: string
  type: string
  nullable: boolean
}

export interface StorageInfo {
  orgId: string
  name: string
  kind: 'TABLE' | 'VIEW'
  columns: StorageColumn[]
  /** The planner's estimate: free, but only as fresh as the last ANALYZE. */
  rowEstimate: number
  /** Set when a data automation last loaded it; null for tables made by plain SQL. */
  modifiedAt: Date | null
  runId: string | null
}

interface TableRow {
  name: string
  relkind: string
  reltuples: number
}

interface ColumnRow {
  table_name: string
  name: string
  type: string
  nullable: boolean
}

interface MetaRow {
  name: string
  modified_at: Date | null
  run_id: string | null
}

/**
 * Lists the organization's storages: tables and views from the catalog of its
 * own warehouse (read there, the only place it exists), with when a run last
 * loaded each from the platform's `storage_meta`.
 */
export async function listStorages(
  db: Queryable,
  warehouse: Warehouse,
  orgId: string,
  name?: string,
): Promise<StorageInfo[]> {
  const { tables, columns } = await warehouse.session(orgId, { timeoutMs: 15_000 }, async (s) => {
    const tables = await s.query<TableRow>(
      `select c.relname as name, c.relkind::text as relkind, greatest(c.reltuples, 0)::float8 as reltuples
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = $1 and c.relkind in ('r', 'p', 'v')
         and c.relname not like '\\_sy\\_%' and ($2::text is null or c.relname = $2)
       order by c.relname`,
      [s.schema, name ?? null],
    )
    if (tables.length === 0) return { tables, columns: [] as ColumnRow[] }
    const columns = await s.query<ColumnRow>(
      `select c.relname as table_name, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
              not a.attnotnull as nullable
       from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = $1 and a.attnum > 0 and not a.attisdropped and c.relname = any($2::text[])
       order by c.relname, a.attnum`,
      [s.schema, toWire(tables.map((t) => t.name))],
    )
    return { tables, columns }
  })
  if (tables.length === 0) return []
  const meta = await db.query<MetaRow>(
    `select name, modified_at, run_id::text as run_id from storage_meta
     where org_id = $1 and name = any($2::text[])`,
    [orgId, tables.map((t) => t.name)],
  )
  const metaOf = new Map(meta.map((m) => [m.name, m]))
  const byTable = new Map<string, StorageColumn[]>()
  for (const c of columns) {
    const list = byTable.get(c.table_name) ?? []
    list.push({ name: c.name, type: c.type, nullable: c.nullable })
    byTable.set(c.table_name, list)
  }
  return tables.map((t) => ({
    orgId,
    name: t.name,
    kind: t.relkind === 'v' ? 'VIEW' : 'TABLE',
    columns: byTable.get(t.name) ?? [],
    rowEstimate: Number(t.reltuples),
    modifiedAt: metaOf.get(t.name)?.modified_at ?? null,
    runId: metaOf.get(t.name)?.run_id ?? null,
  }))
}

/** Records that a run (re)loaded a storage; the catalog cannot tell when a table last changed. */
export async function touchStorage(
  db: Queryable,
  s: {
    orgId: string
    name: string
    runId: string | null
    automationId: string | null
    rowCount: number | null
  },
): Promise<void> {
  await db.query(
    `insert into storage_meta (org_id, name, modified_at, run_id, automation_id, row_count)
     values ($1, $2, now(), $3, $4, $5)
     on conflict (org_id, name) do update set modified_at = now(), run_id = excluded.run_id,
       automation_id = excluded.automation_id, row_count = excluded.row_count`,
    [s.orgId, s.name, s.runId, s.automationId, s.rowCount],
  )
}
