import type { Queryable } from '../db/database'
import { notifyCancel } from '../events/notify'
import { RUN_COLUMNS, type RunRow } from './run-row'
import { type RunOps, TIMEOUT_REASON } from './types'

/**
 * Stops a run, whatever it is doing, inside the caller's transaction:
 * - not started yet (QUEUED, WAITING): it ends CANCELLED now;
 * - executing on a worker: the request is stored in cancel_requested and the
 *   worker is told (NOTIFY, and its next heartbeat) — the worker acts only on what
 *   it reads back from the run row, never on the notification itself;
 * - orchestrating children (CHAIN): its active children are cancelled, and it
 *   ends when they have.
 * Returns the run as it is after the request, or undefined if it is unknown.
 */
export async function requestCancel(
  ops: RunOps,
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
      const [ended] = await ops.finish(tx, [run.id], endState, reason)
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
        `select id from runs where parent_run_id = $1 and state in ('QUEUED', 'WAITING', 'RUNNING') order by step, id`,
        [run.id],
      )
      for (const child of active) await ops.cancel(tx, child.id, reason)
      // Children that ended at once have already ended their parent through its orchestrator.
      const [after] = await tx.query<RunRow>(`select ${RUN_COLUMNS} from runs where id = $1`, [run.id])
      if (after && after.state === 'RUNNING' && active.length === 0) {
        const [ended] = await ops.finish(tx, [run.id], endState, reason)
        return ended
      }
      return after
    }
    default:
      return run
  }
}
