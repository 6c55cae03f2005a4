import { backoffMs } from '../automations/definition'
import type { Database, Queryable } from '../db/database'
import { notifyRunChanges } from '../events/notify'
import { afterFinished, advanceParent, enqueueChild } from './finalize'
import { type RunRow, runColumnsOf } from './run-row'
import { loadDefinition } from './versions'

export type FinalOutcome = 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT'

/** How one execution ended, as the worker saw it. */
export type Outcome =
  | { run: RunRow; state: FinalOutcome; outputs?: Record<string, unknown>; error?: string }
  | { run: RunRow; detach: { automationId: string; step: number } }

/**
 * Records a batch of outcomes in one transaction. Only runs this worker still
 * leases are touched: a worker whose lease was recovered elsewhere cannot
 * overwrite the newer attempt. Failures with attempts left go back to the queue
 * after a backoff, keeping their mutex.
 */
export async function completeRuns(
  db: Database,
  workerId: string,
  outcomes: readonly Outcome[],
): Promise<void> {
  if (outcomes.length === 0) return
  await db.transaction(async (tx) => {
    // Asynchronous commit: if the database crashes before this reaches disk, the run is
    // still RUNNING under an expiring lease and recovery retries it. Runs are executed at
    // least once either way; what must never be lost, enqueues, still commits synchronously.
    await tx.query('set local synchronous_commit = off')
    const final: Extract<Outcome, { state: FinalOutcome }>[] = []
    const retry: Extract<Outcome, { state: FinalOutcome }>[] = []
    const detach: Extract<Outcome, { detach: unknown }>[] = []
    for (const o of outcomes) {
      if ('detach' in o) detach.push(o)
      else if ((o.state === 'FAILED' || o.state === 'TIMED_OUT') && o.run.attempt < o.run.max_attempts)
        retry.push(o)
      else final.push(o)
    }
    if (final.length > 0) {
      const rows = await tx.query<RunRow>(
        // A cancel reaches the worker as a bare NOTIFY; the reason (who or which policy) is in cancel_requested.
        `update runs r set state = c.state, outputs = c.outputs::jsonb, finished_at = clock_timestamp(),
           error = case when c.state = 'CANCELLED' then coalesce(r.cancel_requested, c.error) else c.error end,
           lease_owner = null, lease_expires_at = null
         from (select unnest($2::int8[]) as id, unnest($3::text[]) as state, unnest($4::text[]) as outputs,
                      unnest($5::text[]) as error) c
         where r.id = c.id and r.state = 'RUNNING' and r.lease_owner = $1
         returning ${runColumnsOf('r')}`,
        [
          workerId,
          final.map((o) => o.run.id),
          final.map((o) => o.state),
          final.map((o) => (o.outputs ? JSON.stringify(o.outputs) : null)),
          final.map((o) => o.error ?? null),
        ],
      )
      await afterFinished(tx, rows)
    }
    if (retry.length > 0) await requeue(tx, workerId, retry)
    for (const o of detach) await detachRun(tx, workerId, o.run, o.detach)
  })
}

async function requeue(
  tx: Queryable,
  workerId: string,
  retry: { run: RunRow; error?: string }[],
): Promise<void> {
  const delays: number[] = []
  for (const o of retry) {
    const def = await loadDefinition(tx, o.run.version_id)
    delays.push(backoffMs(def.retry.backoffMs, o.run.attempt + 1))
  }
  const rows = await tx.query<RunRow>(
    `update runs r set state = 'QUEUED', attempt = r.attempt + 1, error = c.error,
       run_at = now() + make_interval(secs => c.delay::float8 / 1000), lease_owner = null, lease_expires_at = null
     from (select unnest($2::int8[]) as id, unnest($3::text[]) as error, unnest($4::int[]) as delay) c
     where r.id = c.id and r.state = 'RUNNING' and r.lease_owner = $1
     returning ${runColumnsOf('r')}`,
    [workerId, retry.map((o) => o.run.id), retry.map((o) => o.error ?? null), delays],
  )
  await notifyRunChanges(tx, rows)
}

/** A CHAIN gives up its lease and starts its first child; its children move it on from here. */
async function detachRun(
  tx: Queryable,
  workerId: string,
  run: RunRow,
  first: { automationId: string; step: number },
): Promise<void> {
  const [parent] = await tx.query<RunRow>(
    `update runs r set lease_owner = null, lease_expires_at = null
     where r.id = $1 and r.state = 'RUNNING' and r.lease_owner = $2 returning ${runColumnsOf('r')}`,
    [run.id, workerId],
  )
  if (!parent) return
  try {
    const child = await enqueueChild(tx, parent, first.automationId, first.step)
    if (child.state === 'SKIPPED') await notifyRunChanges(tx, [child, ...(await advanceParent(tx, child))])
  } catch (err) {
    const { finishRuns } = await import('./finalize')
    await finishRuns(tx, [parent.id], 'FAILED', `step ${first.step + 1}: ${(err as Error).message}`)
  }
}
