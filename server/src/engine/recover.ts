import { backoffMs } from '../automations/definition'
import type { Database } from '../db/database'
import { notifyRunChanges } from '../events/notify'
import { syncingQueue } from './run-queue'
import { RUN_COLUMNS, type RunRow } from './run-row'
import { type RunOps, TIMEOUT_REASON } from './types'

/**
 * Recovers runs whose worker stopped heartbeating (killed, partitioned): retried
 * if attempts remain, else FAILED "worker lost"; a requested cancel wins. The lost
 * attempt is kept in run_attempts, and clearing the claim token fences the old
 * worker out should it come back. Safe on every node at once (SKIP LOCKED).
 * Returns how many were recovered.
 */
export async function recoverExpiredLeases(ops: RunOps, db: Database, limit = 100): Promise<number> {
  return db.transaction(async (tx) => {
    const lost = await tx.query<RunRow>(
      // Found by run_queue's lease index; the runs rows are locked (runs first, as every
      // writer does) and checked again, so a lease extended meanwhile is left alone.
      `select ${RUN_COLUMNS} from runs where id = any(array(
         select run_id from run_queue where state = 'RUNNING' and lease_owner is not null and lease_expires_at < now()
         order by lease_expires_at limit $1
       )) and state = 'RUNNING' and lease_owner is not null and lease_expires_at < now()
       order by lease_expires_at for update skip locked`,
      [limit],
    )
    for (const run of lost) {
      if (run.cancel_requested) {
        const state = run.cancel_requested === TIMEOUT_REASON ? 'TIMED_OUT' : 'CANCELLED'
        await ops.finish(tx, [run.id], state, run.cancel_requested)
      } else if (run.attempt < run.max_attempts) {
        const def = await ops.definition(tx, run.version_id)
        await tx.query(
          `insert into run_attempts (run_id, attempt, org_id, state, worker, started_at, error)
           values ($1, $2, $3, 'FAILED', $4, $5, $6) on conflict do nothing`,
          [
            run.id,
            run.attempt,
            run.org_id,
            run.lease_owner,
            run.started_at,
            `worker lost (${run.lease_owner})`,
          ],
        )
        const rows = await tx.query<RunRow>(
          syncingQueue(`update runs set state = 'QUEUED', attempt = attempt + 1, lease_owner = null, lease_expires_at = null,
             claim_token = null, started_at = null, error = $2, run_at = now() + make_interval(secs => $3::float8 / 1000)
           where id = $1 returning ${RUN_COLUMNS}`),
          [
            run.id,
            `worker lost (${run.lease_owner}); retrying`,
            backoffMs(def.retry.backoffMs, run.attempt + 1),
          ],
        )
        await notifyRunChanges(tx, rows)
      } else {
        await ops.finish(tx, [run.id], 'FAILED', `worker lost (${run.lease_owner} stopped heartbeating)`)
      }
    }
    return lost.length
  })
}

/** Orchestrating runs (chains) past their deadline are cancelled as TIMED_OUT. */
export async function expireDeadlines(ops: RunOps, db: Database, limit = 100): Promise<number> {
  return db.transaction(async (tx) => {
    const due = await tx.query<{ id: string }>(
      `select id from runs where id = any(array(
         select run_id from run_queue where state = 'RUNNING' and deadline_at < now() and lease_owner is null
         order by deadline_at limit $1
       )) and state = 'RUNNING' and lease_owner is null and deadline_at < now() and cancel_requested is null
       for update skip locked`,
      [limit],
    )
    for (const r of due) await ops.cancel(tx, r.id, TIMEOUT_REASON)
    return due.length
  })
}
