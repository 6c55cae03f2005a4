import { z } from 'zod'

/** Quotes one identifier for SQL; the only way names reach a statement. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new Error('invalid identifier')
  return `"${name.replace(/"/g, '""')}"`
}

/** `schema.table` or `table`, each part quoted. Dots inside quotes are not supported on purpose. */
export function quoteQualified(name: string): string {
  return name
    .split('.')
    .map((part) => quoteIdent(part))
    .join('.')
}

// Internal tables start with _sy_ (stages of loads in progress); users cannot name storages so.
export const STAGE_PREFIX = '_sy_'

/** A storage (warehouse table) name. Lowercase and plain, so it works unquoted in users' own SQL. */
export const StorageName = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_]{0,59}$/,
    'must start with a lowercase letter or _ and hold lowercase letters, digits and _',
  )
  .refine((n) => !n.toLowerCase().startsWith(STAGE_PREFIX), `must not start with ${STAGE_PREFIX}`)

/** A column name as it comes from a file header or a query: anything PostgreSQL accepts (≤ 63 bytes). */
export const ColumnName = z
  .string()
  .min(1, 'must not be empty')
  .refine((n) => Buffer.byteLength(n) <= 63, 'at most 63 bytes')
  .refine((n) => !n.includes('\0'), 'must not contain NUL')

/** A table of a datasource: `table` or `schema.table`. */
export const TableName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)?$/, 'must be table or schema.table (letters, digits, _)')

/** Turns free text into a unique column name: trimmed, ≤ 63 bytes, never empty. */
export function columnNames(raw: readonly string[]): string[] {
  const seen = new Set<string>()
  return raw.map((r, i) => {
    let base = r.trim().replace(/\0/g, '') || `column_${i + 1}`
    while (Buffer.byteLength(base) > 60) base = base.slice(0, -1)
    let name = base
    for (let n = 2; seen.has(name.toLowerCase()); n++) name = `${base}_${n}`
    seen.add(name.toLowerCase())
    return name
  })
}
