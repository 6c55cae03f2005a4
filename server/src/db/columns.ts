import { type Table, getTableColumns } from 'drizzle-orm'

/**
 * A select list for raw SQL built from a drizzle table: every column, qualified
 * by `alias` and named by its TypeScript key, so a raw query returns rows shaped
 * like the table's `$inferSelect` and the column names live in the schema only.
 * Nothing is cast: an id stays int8, so `order by <alias>.id` sorts numbers.
 */
export function selectList(table: Table, alias: string): string {
  return Object.entries(getTableColumns(table))
    .map(([key, column]) => `${alias}.${column.name} as "${key}"`)
    .join(', ')
}
