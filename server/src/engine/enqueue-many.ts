import type { Queryable } from '../db/database'
import { notifyRunChanges, notifyWake } from '../events/notify'
import { RUN_COLUMNS, type RunRow } from './run-row'
import type { NewRun, RunOps } from './types'

export interface ScheduledRun extends NewRun {
  /** Due time; a run queued ahead waits for it (workers claim by run_at). */
  runAt: Date | null
}

export interface Queued {
  run: RunRow
  skipped: boolean
}

/**
 * Queues many runs in the caller's transaction, in order. Runs without a
 * mutex take enqueueRun's mutex-free path for all of them at once (one INSERT,
 * one NOTIFY per 7.5 KB of events, one wake-up): a hundred schedules due in the
 * same second cost a handful of statements, not five hundred. Runs with a mutex
 * go through enqueueRun one by one, since each depends on the mutex state the
 * previous one left. Keep the columns in step with insertRun (enqueue.ts).
 */
export async function enqueueScheduled(
  ops: RunOps,
  tx: Queryable,
  runs: readonly ScheduledRun[],
): Promise<Queued[]> {
  const out: (Queued | undefined)[] = new Array(runs.length)
  const free = runs.map((r, i) => [r, i] as const).filter(([r]) => !r.definition.mutex)
  if (free.length > 0) {
    // Ids drawn first, so each row is known to be whose whatever order the INSERT takes.
    const ids = (
      await tx.query<{ id: string }>(
        "select nextval(pg_get_serial_sequence('runs', 'id'))::text as id from generate_series(1, $1::int)",
        [free.length],
      )
    ).map((r) => r.id)
    const rows = await tx.query<RunRow>(
      `insert into runs (id, org_id, automation_id, version_id, version, kind, state, trigger_source, triggered_by,
         run_as, max_attempts, parameters, timeout_ms, run_at, priority)
       select id, org_id, automation_id, version_id, version, kind, 'QUEUED', trigger_source, triggered_by, run_as,
         max_attempts, parameters::jsonb, timeout_ms, coalesce(run_at, now()), priority
       from unnest($13::int8[], $1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[], $7::uuid[],
         $8::uuid[], $9::int[], $10::text[], $11::int[], $12::timestamptz[], $14::int[])
         as u(id, org_id, automation_id, version_id, version, kind, trigger_source, triggered_by, run_as,
           max_attempts, parameters, timeout_ms, run_at, priority)
       returning ${RUN_COLUMNS}`,
      [
        free.map(([r]) => r.orgId),
        free.map(([r]) => r.automationId),
        free.map(([r]) => r.versionId),
        free.map(([r]) => r.version),
        free.map(([r]) => r.definition.kind),
        free.map(([r]) => r.triggerSource),
        free.map(([r]) => r.triggeredBy),
        free.map(([r]) => r.runAs),
        free.map(([r]) => r.definition.retry.maxAttempts),
        free.map(([r]) => JSON.stringify(r.parameters)),
        free.map(([r]) => r.definition.timeoutMs),
        free.map(([r]) => r.runAt),
        ids,
        free.map(([r]) => r.priority ?? 0),
      ],
    )
    const byId = new Map(rows.map((r) => [r.id, r]))
    free.forEach(([, i], k) => {
      out[i] = { run: byId.get(ids[k]!)!, skipped: false }
    })
    await notifyRunChanges(tx, rows)
    await notifyWake(tx)
  }
  for (const [i, r] of runs.entries()) {
    if (!r.definition.mutex) continue
    out[i] = await ops.enqueue(tx, r)
  }
  return out as Queued[]
}
