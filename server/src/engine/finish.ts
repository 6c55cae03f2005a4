import type { Queryable } from '../db/database'
import { FINAL_STATES, type RunState } from '../domain'
import { notifyRunChanges } from '../events/notify'
import { syncingQueue } from './run-queue'
import { RUN_COLUMNS, type RunRow } from './run-row'
import type { RunOps } from './types'

/**
 * Marks runs final (from any non-final state) and runs what follows each, in the
 * caller's transaction: the mutex passes to the next waiter, the parent moves on,
 * hooks run; everything changed is announced at commit. Returns the ended rows.
 */
export async function finishRuns(
  ops: RunOps,
  tx: Queryable,
  ids: readonly string[],
  state: RunState,
  error: string | null,
  outputs: Record<string, unknown> | null,
): Promise<RunRow[]> {
  if (ids.length === 0) return []
  const rows = await tx.query<RunRow>(
    syncingQueue(`update runs set state = $2, error = coalesce($3, error), outputs = coalesce($4::jsonb, outputs),
       finished_at = clock_timestamp(), lease_owner = null, lease_expires_at = null, claim_token = null
     where id = any($1::int8[]) and state <> all($5::text[])
     returning ${RUN_COLUMNS}`),
    [ids, state, error, outputs ? JSON.stringify(outputs) : null, FINAL_STATES],
  )
  const changed: RunRow[] = [...rows]
  changed.push(...(await ops.followUps(tx, rows)))
  await notifyRunChanges(tx, changed)
  return rows
}
