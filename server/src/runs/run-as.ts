import type { Queryable } from '../db/database'

/**
 * Whose grants a non-manual run reads with: the automation's run-as user, else
 * its creator; if that user is gone, the organization's first admin.
 */
export async function resolveRunAs(
  q: Queryable,
  orgId: string,
  automation: { run_as_user_id: string | null; created_by: string | null },
): Promise<string | null> {
  const wanted = automation.run_as_user_id ?? automation.created_by
  const [row] = await q.query<{ id: string }>(
    `select id from users where org_id = $1 and deleted_at is null and (id = $2 or role = 'ADMIN')
     order by (id = $2) desc nulls last, created_at limit 1`,
    [orgId, wanted],
  )
  return row?.id ?? null
}
