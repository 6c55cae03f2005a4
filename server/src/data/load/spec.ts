import { z } from 'zod'
import { WAREHOUSE_ID } from '../domain'
import { ColumnName, StorageName, TableName } from '../identifiers'

/**
 * A query as users write it: one statement, a trailing semicolon tolerated
 * (it is dropped, since queries are embedded in larger statements).
 */
export const UserQuery = z
  .string()
  .max(100_000)
  .transform((q) => q.trim().replace(/;\s*$/, '').trimEnd())
  .pipe(z.string().min(1, 'the query is empty'))

export const DatasourceRef = z.union([
  z.literal(WAREHOUSE_ID),
  z.uuid('must be a datasource id or "warehouse"'),
])

/** What to read: a datasource and either a table or a query (a file datasource needs neither). */
export const SourceSpec = z
  .object({
    datasource: DatasourceRef.default(WAREHOUSE_ID),
    table: TableName.optional(),
    query: UserQuery.optional(),
  })
  .refine((s) => !(s.table && s.query), { message: 'give a table or a query, not both', path: ['query'] })
export type SourceSpec = z.output<typeof SourceSpec>

/** Where rows land: a storage, replaced (atomically), appended to, or upserted by key. */
export const TargetSpec = z
  .object({
    storage: StorageName,
    mode: z.enum(['REPLACE', 'APPEND', 'UPSERT']).default('REPLACE'),
    key: z.array(ColumnName).max(16).default([]),
  })
  .refine((t) => t.mode !== 'UPSERT' || t.key.length > 0, {
    message: 'UPSERT needs the key columns',
    path: ['key'],
  })
export type TargetSpec = z.output<typeof TargetSpec>

/** Per-statement timeout of data kinds; the automation's own timeout still bounds the whole run. */
export const StatementTimeout = z.number().int().min(1000).max(86_400_000).default(3_600_000)
