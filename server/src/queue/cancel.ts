import type { Queryable } from '../db/database'
import { notifyCancel } from '../events/notify'
import { TIMEOUT_REASON, finishRuns } from './finalize'
import { RUN_COLUMNS, type RunRow } from './run-row'

/**
 * Stops a run, whatever it is doing, inside the caller's transaction:
 * - not started yet (QUEUED, WAITING): it ends CANCELLED now;
 * - executing on a worker: the worker is told (NOTIFY, and its next heartbeat)
 *   and ends it CANCELLED; if the worker is dead, lease recovery does;
 * - orchestrating children (CHAIN): its active child is cancelled, and the
 *   chain ends when that child does.
 * Returns the run as it is after the request, or undefined if it is unknown.
 */
export async function requestCancel(
  tx: Queryable,
  runId: string,
  reason: string,
): Promise<RunRow | undefined> {
  const [run] = await tx.query<RunRow>(`select ${RUN_COLUMNS} from runs where id = $1 for update`, [runId])
  if (!run) return undefined
  const endState = reason === TIMEOUT_REASON ? 'TIMED_OUT' : 'CANCELLED'
  switch (run.state) {
    case 'QUEUED':
    case 'WAITING': {
      const [ended] = await finishRuns(tx, [run.id], endState, reason)
      return ended
    }
    case 'RUNNING': {
      const [marked] = await tx.query<RunRow>(
        `update runs set cancel_requested = coalesce(cancel_requested, $2) where id = $1 returning ${RUN_COLUMNS}`,
        [run.id, reason],
      )
      if (run.lease_owner) {
        await notifyCancel(tx, run.id)
        return marked
      }
      const active = await tx.query<{ id: string }>(
        `select id from runs where parent_run_id = $1 and state in ('QUEUED', 'WAITING', 'RUNNING') order by step`,
        [run.id],
      )
      for (const child of active) await requestCancel(tx, child.id, reason)
      if (active.length === 0) {
        const [ended] = await finishRuns(tx, [run.id], endState, reason)
        return ended
      }
      return marked
    }
    default:
      return run
  }
}
