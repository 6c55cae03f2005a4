import { backoffMs } from '../automations/definition'
import type { Database } from '../db/database'
import { notifyRunChanges } from '../events/notify'
import { requestCancel } from './cancel'
import { TIMEOUT_REASON, finishRuns } from './finalize'
import { RUN_COLUMNS, type RunRow } from './run-row'
import { loadDefinition } from './versions'

/**
 * Extends this worker's leases. Returns, per run, whether the lease is still
 * ours and whether a cancel was requested (the NOTIFY may have been missed).
 */
export async function heartbeat(
  db: Database,
  workerId: string,
  runIds: readonly string[],
  leaseMs: number,
): Promise<Map<string, { cancelRequested: string | null }>> {
  if (runIds.length === 0) return new Map()
  const rows = await db.query<{ id: string; cancel_requested: string | null }>(
    `update runs set lease_expires_at = now() + make_interval(secs => $3::float8 / 1000)
     where id = any($1::int8[]) and lease_owner = $2 and state = 'RUNNING'
     returning id, cancel_requested`,
    [runIds, workerId, leaseMs],
  )
  return new Map(rows.map((r) => [r.id, { cancelRequested: r.cancel_requested }]))
}

/**
 * Recovers runs whose worker stopped heartbeating (killed, partitioned): retried
 * if attempts remain, else FAILED "worker lost"; a requested cancel wins. Safe to
 * run on every node at once (SKIP LOCKED). Returns how many were recovered.
 */
export async function recoverExpiredLeases(db: Database, limit = 100): Promise<number> {
  return db.transaction(async (tx) => {
    const lost = await tx.query<RunRow>(
      `select ${RUN_COLUMNS} from runs where state = 'RUNNING' and lease_owner is not null and lease_expires_at < now()
       order by lease_expires_at limit $1 for update skip locked`,
      [limit],
    )
    const retry: RunRow[] = []
    for (const run of lost) {
      if (run.cancel_requested) {
        await finishRuns(
          tx,
          [run.id],
          run.cancel_requested === TIMEOUT_REASON ? 'TIMED_OUT' : 'CANCELLED',
          run.cancel_requested,
        )
      } else if (run.attempt < run.max_attempts) {
        retry.push(run)
      } else {
        await finishRuns(tx, [run.id], 'FAILED', `worker lost (${run.lease_owner} stopped heartbeating)`)
      }
    }
    for (const run of retry) {
      const def = await loadDefinition(tx, run.version_id)
      const rows = await tx.query<RunRow>(
        `update runs set state = 'QUEUED', attempt = attempt + 1, lease_owner = null, lease_expires_at = null,
           error = $2, run_at = now() + make_interval(secs => $3::float8 / 1000)
         where id = $1 returning ${RUN_COLUMNS}`,
        [
          run.id,
          `worker lost (${run.lease_owner}); retrying`,
          backoffMs(def.retry.backoffMs, run.attempt + 1),
        ],
      )
      await notifyRunChanges(tx, rows)
    }
    return lost.length
  })
}

/** Orchestrating runs (chains) past their deadline are cancelled as TIMED_OUT. */
export async function expireDeadlines(db: Database, limit = 100): Promise<number> {
  return db.transaction(async (tx) => {
    const due = await tx.query<{ id: string }>(
      `select id from runs where state = 'RUNNING' and lease_owner is null and deadline_at < now()
         and cancel_requested is null
       limit $1 for update skip locked`,
      [limit],
    )
    for (const r of due) await requestCancel(tx, r.id, TIMEOUT_REASON)
    return due.length
  })
}
