import type { Queryable } from '../db/database'

/**
 * Records which database (or PGlite directory) holds an organization's
 * warehouse. The name is derived (names.ts); the row is what an operator,
 * a test's cleanup or a removal reads to find it.
 */
export async function recordWarehouse(db: Queryable, orgId: string, name: string): Promise<void> {
  await db.query(
    'insert into warehouses (org_id, name) values ($1, $2) on conflict (org_id) do update set name = excluded.name',
    [orgId, name],
  )
}
