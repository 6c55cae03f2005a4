import type postgres from 'postgres'
import type { Queryable } from '../../db/database'
import { inReadOnly } from '../datasources/postgres'
import type { DataServices } from '../services'
import { listStorages } from '../storages/catalog'
import { BROWSE_TIMEOUT_MS, type ViewerSource, asIssue } from './open'

export interface CatalogColumn {
  name: string
  type: string
  nullable: boolean
}

export interface CatalogTable {
  schema: string
  name: string
  kind: 'TABLE' | 'VIEW'
  /** What a config's `table` takes: the storage name in the warehouse, `schema.table` elsewhere. */
  ref: string
  columns: CatalogColumn[]
}

export interface Catalog {
  schemas: string[]
  tables: CatalogTable[]
  /** More tables than MAX_TABLES matched: pick a schema to see the rest. */
  truncated: boolean
}

/** Tables one answer lists (with their columns); a form's picker needs no more. */
export const MAX_TABLES = 500

// System schemas are never a source of user data.
const USER_SCHEMAS = `n.nspname <> 'information_schema' and n.nspname not like 'pg\\_%'`

/**
 * The schemas, tables and columns of a datasource as the viewer may see them:
 * the warehouse's storages, or a PostgreSQL datasource's catalog read in a
 * read-only transaction under a statement timeout. Only what its user may
 * select from is listed.
 */
export async function browseCatalog(
  data: DataServices,
  orgId: string,
  source: ViewerSource,
  schema: string | null,
  signal: AbortSignal,
): Promise<Catalog> {
  if (source.type === 'FILE') return { schemas: [], tables: [], truncated: false }
  if (source.type === 'WAREHOUSE') {
    const storages = await listStorages(data.db, data.warehouse, orgId)
    const tables = storages
      .filter(() => schema === null || schema === 'public')
      .map((s) => ({ schema: 'public', name: s.name, kind: s.kind, ref: s.name, columns: s.columns }))
    return { schemas: ['public'], tables, truncated: false }
  }
  const opts = { name: source.name, timeoutMs: BROWSE_TIMEOUT_MS, batchRows: 0, signal, egress: data.egress }
  return inReadOnly(source.url, opts, (tx) => readCatalog(tx, schema)).catch((err) =>
    asIssue(err, source, 'schema'),
  )
}

async function readCatalog(tx: postgres.TransactionSql, schema: string | null): Promise<Catalog> {
  const q: Queryable = { query: (text, params = []) => tx.unsafe(text, params as never[]) as never }
  const schemas = await q.query<{ name: string }>(
    `select n.nspname as name from pg_namespace n
     where ${USER_SCHEMAS} and has_schema_privilege(n.oid, 'USAGE') order by 1 limit 1000`,
  )
  const tables = await q.query<{ oid: number; schema: string; name: string; relkind: string }>(
    `select c.oid::int as oid, n.nspname as schema, c.relname as name, c.relkind::text as relkind
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p', 'v', 'm', 'f') and ${USER_SCHEMAS}
       and ($1::text is null or n.nspname = $1) and has_table_privilege(c.oid, 'SELECT')
     order by n.nspname = 'public' desc, 2, 3 limit ${MAX_TABLES + 1}`,
    [schema],
  )
  const shown = tables.slice(0, MAX_TABLES)
  const columns =
    shown.length === 0
      ? []
      : await q.query<{ oid: number; name: string; type: string; nullable: boolean }>(
          `select a.attrelid::int as oid, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
                  not a.attnotnull as nullable
           from pg_attribute a where a.attrelid = any($1::oid[]) and a.attnum > 0 and not a.attisdropped
           order by a.attrelid, a.attnum`,
          [`{${shown.map((t) => t.oid).join(',')}}`],
        )
  const byTable = new Map<number, CatalogColumn[]>()
  for (const c of columns) {
    const list = byTable.get(c.oid) ?? []
    list.push({ name: c.name, type: c.type, nullable: c.nullable })
    byTable.set(c.oid, list)
  }
  return {
    schemas: schemas.map((s) => s.name),
    tables: shown.map((t) => ({
      schema: t.schema,
      name: t.name,
      kind: ['v', 'm'].includes(t.relkind) ? 'VIEW' : 'TABLE',
      ref: `${t.schema}.${t.name}`,
      columns: byTable.get(t.oid) ?? [],
    })),
    truncated: tables.length > MAX_TABLES,
  }
}
